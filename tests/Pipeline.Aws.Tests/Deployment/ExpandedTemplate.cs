using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Pipeline.Testing;

namespace Pipeline.Aws.Tests.Deployment;

/// <summary>
/// template.yaml as CloudFormation receives it: expanded by aws-sam-translator (expand_template.py) for some parameter
/// values, then with <c>Ref</c> to a parameter and <c>Fn::FindInMap</c> resolved the way CloudFormation would, so tests
/// read the values a stack gets (SAM leaves most intrinsics for CloudFormation).
/// </summary>
internal sealed class ExpandedTemplate
{
    private static readonly ConcurrentDictionary<string, ExpandedTemplate> Cache = new(StringComparer.Ordinal);

    private ExpandedTemplate(JsonObject raw, IReadOnlyDictionary<string, string> parameters)
    {
        Raw = raw;
        Parameters = parameters;
        Resources = ((JsonObject)Resolve(raw["Resources"]!)!).ToDictionary(r => r.Key, r => (JsonObject)r.Value!, StringComparer.Ordinal);
    }

    public JsonObject Raw { get; }

    /// <summary>Every parameter's value: the given ones, the template's defaults for the rest.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; }

    /// <summary>The expanded resources by logical id, parameters and maps resolved.</summary>
    public IReadOnlyDictionary<string, JsonObject> Resources { get; }

    public static string Script => RepositoryRoot.Combine("tests", "Pipeline.Aws.Tests", "Deployment", "expand_template.py");

    /// <summary>Expands template.yaml with these parameter values (Name=Value); the same values are expanded once.</summary>
    public static ExpandedTemplate For(params string[] parameterValues) =>
        Cache.GetOrAdd(string.Join('\n', parameterValues), _ => Expand(RepositoryRoot.Combine("template.yaml"), parameterValues));

    public static ToolResult RunScript(string template, IEnumerable<string> parameterValues) =>
        DeploymentTools.Run(DeploymentTools.Python!, [Script, template, .. parameterValues], RepositoryRoot.Path, TimeSpan.FromMinutes(2));

    private static ExpandedTemplate Expand(string template, string[] parameterValues)
    {
        ToolResult r = RunScript(template, parameterValues);
        if (r.ExitCode != 0)
        {
            throw new InvalidOperationException($"expand_template.py failed: {r}");
        }

        var raw = (JsonObject)JsonNode.Parse(r.StdOut)!;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string name, JsonNode? parameter) in raw["Parameters"]?.AsObject() ?? [])
        {
            if (parameter?["Default"] is { } fallback)
            {
                values[name] = Scalar(fallback);
            }
        }

        foreach (string item in parameterValues)
        {
            string[] pair = item.Split('=', 2);
            values[pair[0]] = pair[1];
        }

        return new ExpandedTemplate(raw, values);
    }

    /// <summary>The single resource of this type (fails naming the count otherwise).</summary>
    public KeyValuePair<string, JsonObject> Single(string type)
    {
        var found = Resources.Where(r => (string?)r.Value["Type"] == type).ToList();
        return found.Count == 1 ? found[0] : throw new InvalidOperationException($"expected one {type}, found {found.Count}: {string.Join(", ", found.Select(f => f.Key))}");
    }

    public IEnumerable<KeyValuePair<string, JsonObject>> OfType(string type) => Resources.Where(r => (string?)r.Value["Type"] == type);

    public JsonObject Properties(string logicalId) => (JsonObject)Resources[logicalId]["Properties"]!;

    /// <summary>The allowed values of a parameter, as written.</summary>
    public IReadOnlyList<string> AllowedValues(string parameter) =>
        [.. Raw["Parameters"]![parameter]!["AllowedValues"]!.AsArray().Select(v => Scalar(v!))];

    public static string Scalar(JsonNode node) => node is JsonValue v && v.TryGetValue(out string? s) ? s : node.ToJsonString();

    private JsonNode? Resolve(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o when o.Count == 1 && o["Ref"] is JsonValue r && r.TryGetValue(out string? name) && Parameters.ContainsKey(name):
                return Literal(Parameters[name]);
            case JsonObject o when o.Count == 1 && o["Fn::FindInMap"] is JsonArray args:
                JsonNode?[] parts = [.. args.Select(Resolve)];
                if (parts.All(p => p is JsonValue) && Raw["Mappings"]?[Scalar(parts[0]!)]?[Scalar(parts[1]!)]?[Scalar(parts[2]!)] is { } mapped)
                {
                    return mapped.DeepClone();
                }

                return new JsonObject { ["Fn::FindInMap"] = new JsonArray(parts) };
            case JsonObject o:
                var copy = new JsonObject();
                foreach ((string key, JsonNode? value) in o)
                {
                    copy[key] = Resolve(value);
                }

                return copy;
            case JsonArray a:
                return new JsonArray([.. a.Select(Resolve)]);
            default:
                return node?.DeepClone();
        }
    }

    private static JsonValue Literal(string value) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long number) ? JsonValue.Create(number) : JsonValue.Create(value);
}
