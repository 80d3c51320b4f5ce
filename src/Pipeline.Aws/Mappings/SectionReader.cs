using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Pipeline.Aws.Mappings;

/// <summary>Collects errors with the file name, line and column YamlDotNet records on each node.</summary>
internal sealed class YamlErrors(string source)
{
    private readonly List<MappingError> _errors = [];

    public string Source { get; } = source;

    public IReadOnlyList<MappingError> All => _errors;

    public void Add(YamlNode? node, string path, string message) =>
        _errors.Add(new MappingError(Source, node is null ? null : (int)node.Start.Line, node is null ? null : (int)node.Start.Column, path, message));
}

/// <summary>
/// Reads one YAML mapping by property name. Every name asked for is remembered, so <see cref="RejectUnknown"/> can
/// name each property the schema does not know and suggest the closest one it does.
/// </summary>
internal sealed class SectionReader
{
    private const string StandardTagPrefix = "tag:yaml.org,2002:";

    private readonly Dictionary<string, (YamlNode Key, YamlNode Value)> _entries = new(StringComparer.Ordinal);
    private readonly HashSet<string> _asked = new(StringComparer.Ordinal);

    private SectionReader(YamlMappingNode node, string path, YamlErrors errors)
    {
        Node = node;
        Path = path;
        Errors = errors;
        foreach (KeyValuePair<YamlNode, YamlNode> entry in node.Children)
        {
            if (entry.Key is YamlScalarNode { Value: { } key })
            {
                _entries[key] = (entry.Key, entry.Value);
            }
            else
            {
                errors.Add(entry.Key, path, "property names must be plain text");
            }
        }
    }

    public YamlMappingNode Node { get; }

    public string Path { get; }

    public YamlErrors Errors { get; }

    public IEnumerable<string> Keys => _entries.Keys;

    public static SectionReader? Open(YamlNode node, string path, YamlErrors errors)
    {
        if (node is YamlMappingNode mapping)
        {
            return new SectionReader(mapping, path, errors);
        }

        errors.Add(node, path, $"expected a mapping of properties, got {Describe(node)}");
        return null;
    }

    public string Child(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    public bool Has(string key)
    {
        _asked.Add(key);
        return _entries.ContainsKey(key);
    }

    public YamlNode? Get(string key)
    {
        _asked.Add(key);
        return _entries.TryGetValue(key, out var entry) ? entry.Value : null;
    }

    /// <summary>Marks a key as known without reading it (for properties handled elsewhere).</summary>
    public void Know(params string[] keys) => _asked.UnionWith(keys);

    public void Required(string key)
    {
        // A misspelling of the key is reported by RejectUnknown ("did you mean ...?"); one error is enough.
        if (!Has(key) && !_entries.Keys.Any(k => Suggest(k, [key]) is not null))
        {
            Errors.Add(Node, Child(key), "is required");
        }
    }

    public SectionReader? Section(string key)
    {
        YamlNode? node = Get(key);
        return node is null ? null : Open(node, Child(key), Errors);
    }

    public string? String(string key)
    {
        YamlNode? node = Get(key);
        return node is null ? null : Scalar(node, Child(key), "a string");
    }

    public int? Int(string key, int min, int max, string? rule = null)
    {
        YamlNode? node = Get(key);
        if (node is null || Scalar(node, Child(key), "an integer") is not { } text)
        {
            return null;
        }

        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
        {
            Errors.Add(node, Child(key), $"expected an integer from {min:N0} to {max:N0}{rule}, got '{text}'");
            return null;
        }

        if (value < min || value > max)
        {
            Errors.Add(node, Child(key), $"must be between {min:N0} and {max:N0}{rule}; got {value}");
            return null;
        }

        return (int)value;
    }

    public double? Number(string key, double min)
    {
        YamlNode? node = Get(key);
        if (node is null || Scalar(node, Child(key), "a number") is not { } text)
        {
            return null;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
        {
            Errors.Add(node, Child(key), $"expected a number, got '{text}'");
            return null;
        }

        if (value < min)
        {
            Errors.Add(node, Child(key), $"must be at least {min}; got {text}");
            return null;
        }

        return value;
    }

    public bool? Bool(string key)
    {
        YamlNode? node = Get(key);
        if (node is null || Scalar(node, Child(key), "true or false") is not { } text)
        {
            return null;
        }

        if (bool.TryParse(text, out bool value))
        {
            return value;
        }

        Errors.Add(node, Child(key), $"expected true or false, got '{text}'");
        return null;
    }

    /// <summary>A list of strings; each item comes back with its node for error positions.</summary>
    public IReadOnlyList<(string Value, YamlNode Node)>? Strings(string key)
    {
        YamlNode? node = Get(key);
        if (node is null)
        {
            return null;
        }

        if (node is not YamlSequenceNode sequence)
        {
            Errors.Add(node, Child(key), $"expected a list, got {Describe(node)}");
            return null;
        }

        var items = new List<(string, YamlNode)>();
        for (int i = 0; i < sequence.Children.Count; i++)
        {
            if (Scalar(sequence.Children[i], $"{Child(key)}[{i}]", "a string") is { } text)
            {
                items.Add((text, sequence.Children[i]));
            }
        }

        return items;
    }

    /// <summary>Reports every property nobody asked for, with a hint when a known name is close.</summary>
    public void RejectUnknown(IReadOnlyDictionary<string, string>? notes = null)
    {
        foreach (var (key, entry) in _entries)
        {
            if (_asked.Contains(key))
            {
                continue;
            }

            string message = notes is not null && notes.TryGetValue(key, out string? note)
                ? note
                : Suggest(key, _asked) is { } near ? $"unknown property; did you mean {near}?" : $"unknown property; expected one of {string.Join(", ", _asked.Order(StringComparer.Ordinal))}";
            Errors.Add(entry.Key, Child(key), message);
        }
    }

    /// <summary>A scalar's text; errors for mappings, lists, empty values and CloudFormation tags.</summary>
    public string? Scalar(YamlNode node, string path, string expected)
    {
        if (node is not YamlScalarNode scalar)
        {
            Errors.Add(node, path, $"expected {expected}, got {Describe(node)}");
            return null;
        }

        if (!scalar.Tag.IsEmpty && !scalar.Tag.Value.StartsWith(StandardTagPrefix, StringComparison.Ordinal))
        {
            Errors.Add(node, path, $"the tag {scalar.Tag.Value} is not supported here; expected {expected}");
            return null;
        }

        if (string.IsNullOrEmpty(scalar.Value) && scalar.Style is YamlDotNet.Core.ScalarStyle.Plain or YamlDotNet.Core.ScalarStyle.Any)
        {
            Errors.Add(node, path, $"has no value; expected {expected}");
            return null;
        }

        return scalar.Value;
    }

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s => $"'{s.Value}'",
        _ => node.NodeType.ToString(),
    };

    /// <summary>The closest known name: same letters in another case, or within a small edit distance.</summary>
    internal static string? Suggest(string key, IEnumerable<string> known)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string candidate in known)
        {
            if (string.Equals(candidate, key, StringComparison.OrdinalIgnoreCase))
            {
                return candidate;
            }

            int distance = Distance(key.ToUpperInvariant(), candidate.ToUpperInvariant());
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        return bestDistance <= Math.Max(2, key.Length / 4) ? best : null;
    }

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
