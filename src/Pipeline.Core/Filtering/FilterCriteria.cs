using System.Buffers;
using System.Text;
using System.Text.Json;
using Pipeline.Core.Records;

namespace Pipeline.Core.Filtering;

/// <summary>
/// Lambda event filtering for a mapping (<c>FilterCriteria: { Filters: [ { Pattern: "..." } ] }</c>): a record
/// passes when ANY filter matches it; one that matches none is deleted without invoking, as on AWS.
/// </summary>
/// <remarks>
/// <para>
/// The grammar is the subset of EventBridge patterns that Lambda documents: exact values (string, number, boolean,
/// null) in arrays, <c>prefix</c>, <c>suffix</c>, <c>equals-ignore-case</c>, <c>numeric</c> (=, &gt;, &gt;=, &lt;,
/// &lt;=, one lower and one upper bound), <c>exists</c>, and <c>anything-but</c> (values, or a prefix/suffix).
/// Fields of an object are ANDed, rules of a field are ORed, an array in the event matches when any element does,
/// <c>"exists": false</c> matches a missing field, and numbers compare by value.
/// </para>
/// <para>
/// SQS mappings filter on the <c>body</c> key only (AWS's rule). A body that is a JSON object or array is matched by a
/// JSON pattern (<c>{"body": {"field": [...]}}</c>); any other body is a plain string, matched only by a plain-string
/// pattern (<c>{"body": [{"prefix": "..."}]}</c>). A mismatch of the two kinds does not match, as AWS documents.
/// Kinesis filters its <c>data</c> key the same way: pass <c>payloadKey: "data"</c>.
/// </para>
/// </remarks>
public sealed class FilterCriteria
{
    /// <summary>AWS's default quota of filters per event source mapping.</summary>
    public const int MaxFilters = 5;

    /// <summary>AWS's limit on one pattern's length (API type <c>Filter.Pattern</c>).</summary>
    public const int MaxPatternLength = 4096;

    /// <summary>The record key SQS mappings filter on.</summary>
    public const string SqsPayloadKey = "body";

    /// <summary>The record key Kinesis mappings filter on.</summary>
    public const string KinesisPayloadKey = "data";

    private static readonly SearchValues<byte> JsonWhitespace = SearchValues.Create(" \t\r\n"u8);
    private readonly Filter[] _filters;

    private FilterCriteria(IReadOnlyList<string> patterns, Filter[] filters, string payloadKey)
    {
        Patterns = patterns;
        _filters = filters;
        PayloadKey = payloadKey;
    }

    /// <summary>The patterns as given, in order (for logs and summaries).</summary>
    public IReadOnlyList<string> Patterns { get; }

    public string PayloadKey { get; }

    /// <summary>Builds criteria from pattern strings; an invalid one throws naming its index and what is wrong.</summary>
    public static FilterCriteria Create(IEnumerable<string> patterns, string payloadKey = SqsPayloadKey)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        ArgumentException.ThrowIfNullOrWhiteSpace(payloadKey);
        string[] list = [.. patterns];
        if (list.Length == 0)
        {
            throw new FilterCriteriaException("FilterCriteria.Filters is empty; give at least one filter or leave FilterCriteria out.");
        }

        if (list.Length > MaxFilters)
        {
            throw new FilterCriteriaException($"FilterCriteria.Filters has {list.Length} filters; an event source mapping allows at most {MaxFilters}.");
        }

        var filters = new Filter[list.Length];
        for (int i = 0; i < list.Length; i++)
        {
            filters[i] = ParsePattern(i, list[i], payloadKey);
        }

        return new FilterCriteria(list, filters, payloadKey);
    }

    /// <summary>
    /// Parses the API/CloudFormation shape <c>{"Filters": [{"Pattern": "{...}"}]}</c>. A <c>Pattern</c> may also be
    /// given as a JSON object instead of a string holding one.
    /// </summary>
    public static FilterCriteria Parse(string filterCriteriaJson, string payloadKey = SqsPayloadKey)
    {
        ArgumentNullException.ThrowIfNull(filterCriteriaJson);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(filterCriteriaJson);
        }
        catch (JsonException ex)
        {
            throw new FilterCriteriaException($"FilterCriteria is not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("Filters", out JsonElement filters)
                || filters.ValueKind != JsonValueKind.Array)
            {
                throw new FilterCriteriaException("FilterCriteria must be an object with a \"Filters\" array, e.g. {\"Filters\": [{\"Pattern\": \"{\\\"body\\\": {...}}\"}]}.");
            }

            var patterns = new List<string>();
            int i = 0;
            foreach (JsonElement filter in filters.EnumerateArray())
            {
                if (filter.ValueKind != JsonValueKind.Object || !filter.TryGetProperty("Pattern", out JsonElement pattern))
                {
                    throw new FilterCriteriaException($"FilterCriteria.Filters[{i}] must be an object with a \"Pattern\".");
                }

                patterns.Add(pattern.ValueKind switch
                {
                    JsonValueKind.String => pattern.GetString()!,
                    JsonValueKind.Object => pattern.GetRawText(),
                    _ => throw new FilterCriteriaException($"FilterCriteria.Filters[{i}].Pattern must be a string holding a JSON object, not {PatternParser.Describe(pattern)}."),
                });
                i++;
            }

            return Create(patterns, payloadKey);
        }
    }

    /// <summary>True when any filter matches the record's payload.</summary>
    public bool Matches(SourceRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return Matches(record.Body);
    }

    /// <summary>True when any filter matches this payload (the SQS body or the Kinesis data).</summary>
    public bool Matches(ReadOnlyMemory<byte> payload)
    {
        JsonDocument? json = TryParseJson(payload);
        try
        {
            string? plain = null;
            foreach (Filter filter in _filters)
            {
                bool matched = filter.Json is { } fields
                    ? json is not null && fields.Matches(json.RootElement)
                    : json is null && filter.Plain!.Matches(Leaf.FromString(plain ??= Encoding.UTF8.GetString(payload.Span)));
                if (matched)
                {
                    return true;
                }
            }

            return false;
        }
        finally
        {
            json?.Dispose();
        }
    }

    // Only an object or array counts as a JSON body: a bare word, number or quoted text is a plain string message.
    private static JsonDocument? TryParseJson(ReadOnlyMemory<byte> payload)
    {
        ReadOnlySpan<byte> span = payload.Span;
        int start = span.IndexOfAnyExcept(JsonWhitespace);
        if (start < 0 || span[start] is not ((byte)'{' or (byte)'['))
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(payload);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static Filter ParsePattern(int index, string pattern, string payloadKey)
    {
        if (pattern is null || string.IsNullOrWhiteSpace(pattern))
        {
            throw new FilterCriteriaException(index, "the pattern is empty.");
        }

        if (pattern.Length > MaxPatternLength)
        {
            throw new FilterCriteriaException(index, $"the pattern is {pattern.Length:N0} characters; the limit is {MaxPatternLength:N0}.");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(pattern);
        }
        catch (JsonException ex)
        {
            throw new FilterCriteriaException(index, $"not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new FilterCriteriaException(index, $"a pattern is a JSON object such as {{\"{payloadKey}\": {{\"field\": [\"value\"]}}}}, not {PatternParser.Describe(root)}.");
            }

            JsonElement? payload = null;
            foreach (JsonProperty property in root.EnumerateObject())
            {
                if (!string.Equals(property.Name, payloadKey, StringComparison.Ordinal))
                {
                    throw new FilterCriteriaException(index, $"this mapping filters only on the \"{payloadKey}\" key (as Lambda does for this source), so \"{property.Name}\" is not allowed.");
                }

                payload = property.Value;
            }

            if (payload is not { } p)
            {
                throw new FilterCriteriaException(index, $"the pattern must filter on \"{payloadKey}\", e.g. {{\"{payloadKey}\": {{\"field\": [\"value\"]}}}}.");
            }

            try
            {
                return PatternParser.ParseNode(p, payloadKey) switch
                {
                    FieldsNode fields => new Filter(fields, null),
                    RulesNode rules => new Filter(null, rules),
                    _ => throw new InvalidOperationException("unreachable"),
                };
            }
            catch (PatternException ex)
            {
                throw new FilterCriteriaException(index, ex.Message, ex);
            }
        }
    }

    /// <summary>A JSON pattern on the payload's fields, or a plain-string pattern on the whole payload.</summary>
    private sealed record Filter(FieldsNode? Json, RulesNode? Plain);
}
