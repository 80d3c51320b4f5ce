using System.Text.Json;

namespace Pipeline.Core.Filtering;

/// <summary>A scalar value of the event: a JSON string, number, boolean or null (or a plain-string body).</summary>
internal readonly struct Leaf
{
    private Leaf(JsonValueKind kind, string? text, double number)
    {
        Kind = kind;
        Text = text;
        Number = number;
    }

    public JsonValueKind Kind { get; }

    /// <summary>The string value (strings only).</summary>
    public string? Text { get; }

    /// <summary>The numeric value (numbers only).</summary>
    public double Number { get; }

    public bool IsString => Kind == JsonValueKind.String;

    public bool IsNumber => Kind == JsonValueKind.Number;

    public static Leaf FromString(string text) => new(JsonValueKind.String, text, 0);

    public static Leaf From(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => new Leaf(JsonValueKind.String, element.GetString(), 0),
        JsonValueKind.Number => new Leaf(JsonValueKind.Number, null, element.TryGetDouble(out double d) ? d : double.NaN),
        _ => new Leaf(element.ValueKind, null, 0),
    };
}

/// <summary>One node of a parsed pattern; a missing field is passed as <c>null</c>.</summary>
internal abstract class PatternNode
{
    public abstract bool Matches(JsonElement? value);
}

/// <summary>
/// An object of the pattern: every field must match (AND). Against an array of objects, any one element must match
/// all fields, so fields are never taken from different elements.
/// </summary>
internal sealed class FieldsNode(KeyValuePair<string, PatternNode>[] fields) : PatternNode
{
    public override bool Matches(JsonElement? value)
    {
        if (value is { ValueKind: JsonValueKind.Array } array)
        {
            bool any = false;
            foreach (JsonElement element in array.EnumerateArray())
            {
                any = true;
                if (Matches(element))
                {
                    return true;
                }
            }

            // An empty array holds no fields: only "exists": false rules can match below it.
            return !any && MatchesFields(null);
        }

        return MatchesFields(value is { ValueKind: JsonValueKind.Object } ? value : null);
    }

    private bool MatchesFields(JsonElement? obj)
    {
        foreach ((string name, PatternNode node) in fields)
        {
            JsonElement? child = obj is { } o && o.TryGetProperty(name, out JsonElement c) ? c : null;
            if (!node.Matches(child))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// A field's list of rules: any rule matching any of the field's values is a match (OR). As in EventBridge, rules
/// only see leaves: an object where a leaf is expected counts as no value, and an array contributes each element.
/// </summary>
internal sealed class RulesNode(Rule[] rules) : PatternNode
{
    private readonly bool _matchesMissing = Array.Exists(rules, r => r.MatchesMissing);

    public override bool Matches(JsonElement? value)
    {
        if (value is not { } v)
        {
            return _matchesMissing;
        }

        bool anyLeaf = false;
        bool matched = MatchesValues(v, ref anyLeaf);
        return matched || (!anyLeaf && _matchesMissing);
    }

    public bool Matches(Leaf leaf) => Any(leaf);

    private bool MatchesValues(JsonElement v, ref bool anyLeaf)
    {
        switch (v.ValueKind)
        {
            case JsonValueKind.Object:
                return false;
            case JsonValueKind.Array:
                foreach (JsonElement element in v.EnumerateArray())
                {
                    if (MatchesValues(element, ref anyLeaf))
                    {
                        return true;
                    }
                }

                return false;
            default:
                anyLeaf = true;
                return Any(Leaf.From(v));
        }
    }

    private bool Any(Leaf leaf)
    {
        foreach (Rule rule in rules)
        {
            if (rule.Matches(leaf))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>One rule of a field's list: an exact value or an operator object.</summary>
internal abstract class Rule
{
    /// <summary>True for <c>{"exists": false}</c>: the rule that a missing field satisfies.</summary>
    public virtual bool MatchesMissing => false;

    public abstract bool Matches(Leaf leaf);
}

/// <summary><c>"a"</c>, <c>5</c>, <c>true</c>, <c>null</c>: the same JSON type and value (numbers compare by value).</summary>
internal sealed class ExactRule(Leaf expected) : Rule
{
    public override bool Matches(Leaf leaf) => expected.Kind switch
    {
        JsonValueKind.String => leaf.IsString && string.Equals(leaf.Text, expected.Text, StringComparison.Ordinal),
        JsonValueKind.Number => leaf.IsNumber && leaf.Number == expected.Number,
        _ => leaf.Kind == expected.Kind,
    };
}

internal sealed class PrefixRule(string prefix) : Rule
{
    public override bool Matches(Leaf leaf) => leaf.IsString && leaf.Text!.StartsWith(prefix, StringComparison.Ordinal);
}

internal sealed class SuffixRule(string suffix) : Rule
{
    public override bool Matches(Leaf leaf) => leaf.IsString && leaf.Text!.EndsWith(suffix, StringComparison.Ordinal);
}

internal sealed class EqualsIgnoreCaseRule(string value) : Rule
{
    public override bool Matches(Leaf leaf) => leaf.IsString && string.Equals(leaf.Text, value, StringComparison.OrdinalIgnoreCase);
}

/// <summary><c>{"exists": true}</c> matches any value (null included); <c>false</c> only a missing field.</summary>
internal sealed class ExistsRule(bool exists) : Rule
{
    public override bool MatchesMissing => !exists;

    public override bool Matches(Leaf leaf) => exists;
}

/// <summary><c>{"numeric": ["=", 5]}</c> or a range of one lower and one upper bound; numbers only.</summary>
internal sealed class NumericRule(double lower, bool lowerInclusive, double upper, bool upperInclusive) : Rule
{
    public override bool Matches(Leaf leaf)
    {
        if (!leaf.IsNumber || double.IsNaN(leaf.Number))
        {
            return false;
        }

        double x = leaf.Number;
        bool aboveLower = lowerInclusive ? x >= lower : x > lower;
        bool belowUpper = upperInclusive ? x <= upper : x < upper;
        return aboveLower && belowUpper;
    }
}

/// <summary>
/// <c>{"anything-but": ...}</c>: any present value that is not one of the listed strings/numbers, or (with a
/// prefix or suffix) any value that is not a string starting/ending with it. A missing field never matches.
/// </summary>
internal sealed class AnythingButRule : Rule
{
    private readonly HashSet<string> _strings;
    private readonly HashSet<double> _numbers;
    private readonly string? _prefix;
    private readonly string? _suffix;

    public AnythingButRule(IEnumerable<string> strings, IEnumerable<double> numbers, string? prefix = null, string? suffix = null)
    {
        _strings = new HashSet<string>(strings, StringComparer.Ordinal);
        _numbers = [.. numbers];
        _prefix = prefix;
        _suffix = suffix;
    }

    public override bool Matches(Leaf leaf)
    {
        if (leaf.IsString)
        {
            string text = leaf.Text!;
            return !_strings.Contains(text)
                && (_prefix is null || !text.StartsWith(_prefix, StringComparison.Ordinal))
                && (_suffix is null || !text.EndsWith(_suffix, StringComparison.Ordinal));
        }

        return !(leaf.IsNumber && _numbers.Contains(leaf.Number));
    }
}
