namespace Pipeline.Aws.Provisioning;

/// <summary>What provision did, or (dry run) would do, to one resource.</summary>
public enum ProvisionAction
{
    Unchanged,
    Created,
    Updated,
    WouldCreate,
    WouldUpdate,
}

/// <summary>One resource's outcome; <see cref="Changes"/> says what was (or would be) set, e.g. "VisibilityTimeout 30 -> 360".</summary>
public sealed record ResourceOutcome(ProvisionedResource Resource, ProvisionAction Action, IReadOnlyList<string> Changes)
{
    public static string Describe(ProvisionAction action) => action switch
    {
        ProvisionAction.Unchanged => "unchanged",
        ProvisionAction.Created => "created",
        ProvisionAction.Updated => "updated",
        ProvisionAction.WouldCreate => "would create",
        ProvisionAction.WouldUpdate => "would update",
        _ => action.ToString(),
    };

    public override string ToString()
    {
        string line = $"{Describe(Action),-12} {Resource.Kind,-14} {Resource.Name}";
        return Changes.Count == 0 ? line : $"{line}: {string.Join(", ", Changes)}";
    }
}

/// <summary>Every resource's outcome, in order, and warnings about things the endpoint could not do.</summary>
public sealed record ProvisionReport(IReadOnlyList<ResourceOutcome> Outcomes, IReadOnlyList<string> Warnings)
{
    public ResourceOutcome For(ProvisionedResource resource) => Outcomes.Single(o => ReferenceEquals(o.Resource, resource) || o.Resource.Name == resource.Name);

    public bool ChangedAnything => Outcomes.Any(o => o.Action is ProvisionAction.Created or ProvisionAction.Updated);
}
