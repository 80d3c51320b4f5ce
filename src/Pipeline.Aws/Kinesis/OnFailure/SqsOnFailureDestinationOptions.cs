namespace Pipeline.Aws.Kinesis.OnFailure;

/// <summary>Retries of <see cref="SqsOnFailureDestination"/>; immutable, checked by <see cref="Validate"/>.</summary>
public sealed record SqsOnFailureDestinationOptions
{
    /// <summary>SendMessage attempts before giving up, the first included. Default 5.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Delay before the first retry; doubled each retry, with jitter. Default 200 ms.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Cap on one retry's delay. Default 5 s.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    public static SqsOnFailureDestinationOptions Default { get; } = new();

    public SqsOnFailureDestinationOptions Validate()
    {
        if (MaxAttempts is < 1 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAttempts), MaxAttempts, "MaxAttempts must be between 1 and 100.");
        }

        if (BaseDelay < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(BaseDelay), BaseDelay, "BaseDelay must not be negative.");
        }

        if (MaxDelay < BaseDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDelay), MaxDelay, $"MaxDelay must be at least BaseDelay ({BaseDelay}).");
        }

        return this;
    }
}
