using System.Globalization;
using System.Text.Json;

namespace Pipeline.Core.Filtering;

/// <summary>
/// Parses one filter pattern (the EventBridge-style grammar Lambda event filtering uses) into matching nodes.
/// Problems throw <see cref="PatternException"/> naming the field path; <see cref="FilterCriteria"/> adds the filter
/// index.
/// </summary>
internal static class PatternParser
{
    public const string SupportedOperators = "prefix, suffix, equals-ignore-case, numeric, exists, anything-but";

    public static PatternNode ParseNode(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                return ParseFields(element, path);
            case JsonValueKind.Array:
                return ParseRules(element, path);
            default:
                throw new PatternException(
                    $"{path} must be an array of rules (e.g. [\"value\"]) or an object of fields, not {Describe(element)}.");
        }
    }

    private static FieldsNode ParseFields(JsonElement obj, string path)
    {
        var fields = new List<KeyValuePair<string, PatternNode>>();
        foreach (JsonProperty property in obj.EnumerateObject())
        {
            string childPath = $"{path}.{property.Name}";
            if (IsOperator(property.Name) && property.Value.ValueKind != JsonValueKind.Object && property.Value.ValueKind != JsonValueKind.Array)
            {
                throw new PatternException(
                    $"{path} reads as a field named \"{property.Name}\"; an operator must sit inside the field's rule array, e.g. [{{\"{property.Name}\": ...}}].");
            }

            fields.Add(new(property.Name, ParseNode(property.Value, childPath)));
        }

        if (fields.Count == 0)
        {
            throw new PatternException($"{path} is an empty object; give at least one field with its rules.");
        }

        return new FieldsNode([.. fields]);
    }

    public static RulesNode ParseRules(JsonElement array, string path)
    {
        var rules = new List<Rule>();
        int i = 0;
        foreach (JsonElement item in array.EnumerateArray())
        {
            rules.Add(ParseRule(item, $"{path}[{i}]"));
            i++;
        }

        if (rules.Count == 0)
        {
            throw new PatternException($"{path} is an empty rule array; it would match nothing (use [null] for a null value, [\"\"] for an empty string).");
        }

        return new RulesNode([.. rules]);
    }

    private static Rule ParseRule(JsonElement item, string path)
    {
        switch (item.ValueKind)
        {
            case JsonValueKind.String:
            case JsonValueKind.True:
            case JsonValueKind.False:
            case JsonValueKind.Null:
                return new ExactRule(Leaf.From(item));
            case JsonValueKind.Number:
                Number(item, path);
                return new ExactRule(Leaf.From(item));
            case JsonValueKind.Object:
                return ParseOperator(item, path);
            default:
                throw new PatternException($"{path}: a rule is a value (string, number, true, false, null) or an operator object, not {Describe(item)}.");
        }
    }

    private static Rule ParseOperator(JsonElement obj, string path)
    {
        JsonProperty op = default;
        int count = 0;
        foreach (JsonProperty p in obj.EnumerateObject())
        {
            op = p;
            count++;
        }

        if (count != 1)
        {
            throw new PatternException($"{path}: an operator object holds exactly one operator ({SupportedOperators}); it has {count}.");
        }

        JsonElement value = op.Value;
        switch (op.Name)
        {
            case "prefix":
                return new PrefixRule(String(value, $"{path}.prefix"));
            case "suffix":
                return new SuffixRule(String(value, $"{path}.suffix"));
            case "equals-ignore-case":
                return new EqualsIgnoreCaseRule(String(value, $"{path}.equals-ignore-case"));
            case "exists":
                return value.ValueKind switch
                {
                    JsonValueKind.True => new ExistsRule(true),
                    JsonValueKind.False => new ExistsRule(false),
                    _ => throw new PatternException($"{path}.exists must be true or false, not {Describe(value)}."),
                };
            case "numeric":
                return ParseNumeric(value, $"{path}.numeric");
            case "anything-but":
                return ParseAnythingBut(value, $"{path}.anything-but");
            default:
                throw new PatternException($"{path}: unknown operator \"{op.Name}\" (supported: {SupportedOperators}).");
        }
    }

    private static NumericRule ParseNumeric(JsonElement value, string path)
    {
        const string Example = "e.g. [\"=\", 5], [\">\", 0] or [\">\", 0, \"<=\", 5]";
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() is not (2 or 4))
        {
            throw new PatternException($"{path} must be an array of one or two operator/number pairs, {Example}.");
        }

        double lower = double.NegativeInfinity, upper = double.PositiveInfinity;
        bool lowerInclusive = false, upperInclusive = false, hasLower = false, hasUpper = false, hasEquals = false;
        int n = value.GetArrayLength();
        for (int i = 0; i < n; i += 2)
        {
            JsonElement opElement = value[i];
            JsonElement numberElement = value[i + 1];
            if (opElement.ValueKind != JsonValueKind.String)
            {
                throw new PatternException($"{path}[{i}] must be one of =, >, >=, <, <= ({Example}), not {Describe(opElement)}.");
            }

            double x = Number(numberElement, $"{path}[{i + 1}]");
            switch (opElement.GetString())
            {
                case "=":
                    hasEquals = true;
                    lower = upper = x;
                    lowerInclusive = upperInclusive = true;
                    break;
                case ">" or ">=" when !hasLower:
                    hasLower = true;
                    lower = x;
                    lowerInclusive = opElement.ValueEquals(">=");
                    break;
                case "<" or "<=" when !hasUpper:
                    hasUpper = true;
                    upper = x;
                    upperInclusive = opElement.ValueEquals("<=");
                    break;
                case ">" or ">=" or "<" or "<=":
                    throw new PatternException($"{path} has two {(opElement.GetString()![0] == '>' ? "lower" : "upper")} bounds; a range has at most one of each.");
                default:
                    throw new PatternException($"{path}[{i}]: unknown comparison \"{opElement.GetString()}\" (use =, >, >=, <, <=).");
            }
        }

        if (hasEquals && n != 2)
        {
            throw new PatternException($"{path}: \"=\" stands alone; it cannot be combined with a range.");
        }

        if (lower > upper || (lower == upper && !(lowerInclusive && upperInclusive)))
        {
            throw new PatternException($"{path}: the range is empty (lower bound {Format(lower)} is not below upper bound {Format(upper)}).");
        }

        return new NumericRule(lower, lowerInclusive, upper, upperInclusive);
    }

    private static AnythingButRule ParseAnythingBut(JsonElement value, string path)
    {
        var strings = new List<string>();
        var numbers = new List<double>();
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                strings.Add(value.GetString()!);
                break;
            case JsonValueKind.Number:
                numbers.Add(Number(value, path));
                break;
            case JsonValueKind.Array:
                int i = 0;
                foreach (JsonElement item in value.EnumerateArray())
                {
                    switch (item.ValueKind)
                    {
                        case JsonValueKind.String: strings.Add(item.GetString()!); break;
                        case JsonValueKind.Number: numbers.Add(Number(item, $"{path}[{i}]")); break;
                        default: throw new PatternException($"{path}[{i}] must be a string or a number, not {Describe(item)}.");
                    }

                    i++;
                }

                if (i == 0)
                {
                    throw new PatternException($"{path} is an empty list; give the values to exclude.");
                }

                break;
            case JsonValueKind.Object:
                JsonElement inner = value;
                if (inner.TryGetProperty("prefix", out JsonElement prefix) && CountProperties(inner) == 1)
                {
                    return new AnythingButRule([], [], prefix: String(prefix, $"{path}.prefix"));
                }

                if (inner.TryGetProperty("suffix", out JsonElement suffix) && CountProperties(inner) == 1)
                {
                    return new AnythingButRule([], [], suffix: String(suffix, $"{path}.suffix"));
                }

                throw new PatternException($"{path} as an object takes exactly one of \"prefix\" or \"suffix\".");
            default:
                throw new PatternException($"{path} must be a string, a number, a list of them, or {{\"prefix\": ...}}, not {Describe(value)}.");
        }

        return new AnythingButRule(strings, numbers);
    }

    private static int CountProperties(JsonElement obj)
    {
        int n = 0;
        foreach (JsonProperty _ in obj.EnumerateObject())
        {
            n++;
        }

        return n;
    }

    private static string String(JsonElement value, string path) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw new PatternException($"{path} must be a string, not {Describe(value)}.");

    private static double Number(JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.Number)
        {
            throw new PatternException($"{path} must be a number, not {Describe(value)}.");
        }

        if (!value.TryGetDouble(out double d) || !double.IsFinite(d))
        {
            throw new PatternException($"{path}: {value.GetRawText()} is out of the range of a double.");
        }

        return d;
    }

    private static bool IsOperator(string name) => name is "prefix" or "suffix" or "equals-ignore-case" or "numeric" or "exists" or "anything-but";

    private static string Format(double d) => d.ToString(CultureInfo.InvariantCulture);

    internal static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{e.GetString()}\"",
        JsonValueKind.Number => $"the number {e.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {e.GetRawText()}",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => e.ValueKind.ToString(),
    };
}

/// <summary>A pattern problem at a field path; wrapped with the filter index by <see cref="FilterCriteria"/>.</summary>
internal sealed class PatternException(string message) : Exception(message);
