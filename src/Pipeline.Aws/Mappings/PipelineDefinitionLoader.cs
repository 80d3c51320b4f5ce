using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Pipeline.Aws.Mappings;

/// <summary>
/// Reads pipelines/*.yaml. The shape is SAM's: <c>Events: { Name: { Type: SQS|Kinesis, Properties: {...} } }</c> with
/// SAM's property names, plus a <c>Function:</c> section. Every unknown property, wrong type and out-of-range value is
/// reported (all of them, not just the first) with file, line and the property's full path.
/// </summary>
public static class PipelineDefinitionLoader
{
    private const string ReportBatchItemFailures = "ReportBatchItemFailures";

    private static readonly Dictionary<string, string> NotForSqs = new(StringComparer.Ordinal)
    {
        ["StartingPosition"] = "applies to Kinesis, not SQS",
        ["StartingPositionTimestamp"] = "applies to Kinesis, not SQS",
        ["ParallelizationFactor"] = "applies to Kinesis, not SQS; use ScalingConfig.MaximumConcurrency",
        ["BisectBatchOnFunctionError"] = "applies to Kinesis, not SQS",
        ["MaximumRetryAttempts"] = "applies to Kinesis, not SQS; SQS retries through the queue's RedrivePolicy (maxReceiveCount 5)",
        ["MaximumRecordAgeInSeconds"] = "applies to Kinesis, not SQS",
        ["DestinationConfig"] = "applies to Kinesis, not SQS; failed SQS messages go to the queue's dead-letter queue",
        ["TumblingWindowInSeconds"] = "applies to Kinesis, not SQS",
        ["Stream"] = "applies to Kinesis; an SQS event names its Queue",
        ["KmsKeyArn"] = "is a SAM property bgpipe does not support",
        ["MetricsConfig"] = "is a SAM property bgpipe does not support",
        ["ProvisionedPollerConfig"] = "is a SAM property bgpipe does not support",
    };

    private static readonly Dictionary<string, string> NotForKinesis = new(StringComparer.Ordinal)
    {
        ["Queue"] = "applies to SQS; a Kinesis event names its Stream",
        ["ScalingConfig"] = "applies to SQS, not Kinesis; use ParallelizationFactor",
        ["KmsKeyArn"] = "is a SAM property bgpipe does not support",
        ["MetricsConfig"] = "is a SAM property bgpipe does not support",
        ["ProvisionedPollerConfig"] = "is a SAM property bgpipe does not support",
        ["StartingPositionTimestamp"] = "is allowed only with StartingPosition AT_TIMESTAMP",
    };

    /// <summary>Reads and validates a file; throws <see cref="MappingDefinitionException"/> listing every problem.</summary>
    public static PipelineDefinition LoadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses YAML text; <paramref name="source"/> names it in errors.</summary>
    public static PipelineDefinition Parse(string yaml, string source)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var errors = new YamlErrors(source);
        YamlNode? root = Load(yaml, errors);
        PipelineDefinition? definition = null;
        if (root is not null && SectionReader.Open(root, string.Empty, errors) is { } top)
        {
            string? description = top.String("Description");
            FunctionDefinition function = top.Section("Function") is { } f ? ReadFunction(f) : FunctionDefinition.Default;
            IReadOnlyList<EventDefinition> events = [];
            if (top.Get("Events") is { } eventsNode)
            {
                events = ReadEventsCore(eventsNode, "Events", errors);
            }
            else
            {
                errors.Add(top.Node, "Events", "is required: at least one SQS or Kinesis event");
            }

            top.RejectUnknown();
            definition = new PipelineDefinition(source, description, function, events);
        }

        return errors.All.Count == 0 ? definition! : throw new MappingDefinitionException(Sorted(errors));
    }

    /// <summary>
    /// Reads a SAM <c>Events:</c> mapping that sits in another document (template.yaml's function), with the same
    /// rules; <c>!GetAtt Id.Arn</c> and <c>!Ref Id</c> become <see cref="ReferenceKind.LogicalId"/> references.
    /// </summary>
    public static IReadOnlyList<EventDefinition> ReadEvents(YamlNode events, string source, string path = "Events")
    {
        ArgumentNullException.ThrowIfNull(events);
        var errors = new YamlErrors(source);
        IReadOnlyList<EventDefinition> result = ReadEventsCore(events, path, errors);
        return errors.All.Count == 0 ? result : throw new MappingDefinitionException(Sorted(errors));
    }

    private static MappingError[] Sorted(YamlErrors errors) => [.. errors.All.OrderBy(e => e.Line ?? 0).ThenBy(e => e.Column ?? 0)];

    private static YamlNode? Load(string yaml, YamlErrors errors)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            string message = ex.InnerException is { } inner ? $"{ex.Message} {inner.Message}" : ex.Message;
            errors.Add(null, string.Empty, $"line {ex.Start.Line}, column {ex.Start.Column}: not valid YAML: {message}");
            return null;
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            errors.Add(null, string.Empty, "the file is empty; expected Function: and Events:");
            return null;
        }

        if (stream.Documents.Count > 1)
        {
            errors.Add(stream.Documents[1].RootNode, string.Empty, "expected one YAML document, found several");
        }

        return stream.Documents[0].RootNode;
    }

    private static FunctionDefinition ReadFunction(SectionReader f)
    {
        int timeout = f.Int("Timeout", 1, FunctionDefinition.MaxTimeoutSeconds) ?? FunctionDefinition.DefaultTimeoutSeconds;
        int? memory = f.Int("MemorySize", 128, 10_240);
        int? reserved = f.Int("ReservedConcurrentExecutions", 1, 1000);
        var buckets = new List<string>();
        if (f.Strings("Buckets") is { } items)
        {
            for (int i = 0; i < items.Count; i++)
            {
                var (name, node) = items[i];
                if (ResourceNames.CheckBucketName(name) is { } problem)
                {
                    f.Errors.Add(node, $"{f.Child("Buckets")}[{i}]", problem);
                }
                else if (buckets.Contains(name, StringComparer.Ordinal))
                {
                    f.Errors.Add(node, $"{f.Child("Buckets")}[{i}]", $"'{name}' is listed twice");
                }
                else
                {
                    buckets.Add(name);
                }
            }
        }

        string? outputPrefix = f.String("OutputPrefix");
        string table = f.String("IdempotencyTable") ?? FunctionDefinition.DefaultIdempotencyTable;
        if (ResourceNames.CheckTableName(table) is { } tableProblem)
        {
            f.Errors.Add(f.Get("IdempotencyTable"), f.Child("IdempotencyTable"), tableProblem);
        }

        f.RejectUnknown();
        return new FunctionDefinition(timeout, memory, reserved, buckets, outputPrefix, table);
    }

    private static List<EventDefinition> ReadEventsCore(YamlNode eventsNode, string path, YamlErrors errors)
    {
        var events = new List<EventDefinition>();
        if (SectionReader.Open(eventsNode, path, errors) is not { } section)
        {
            return events;
        }

        if (section.Node.Children.Count == 0)
        {
            errors.Add(section.Node, path, "is empty: at least one SQS or Kinesis event is required");
        }

        foreach (string name in section.Keys.ToList())
        {
            string eventPath = section.Child(name);
            YamlNode node = section.Get(name)!;
            if (!name.All(char.IsAsciiLetterOrDigit))
            {
                errors.Add(node, eventPath, "an event's name must be letters and digits only (a CloudFormation logical id)");
            }

            if (SectionReader.Open(node, eventPath, errors) is { } entry && ReadEvent(name, entry) is { } definition)
            {
                events.Add(definition);
            }
        }

        return events;
    }

    private static EventDefinition? ReadEvent(string name, SectionReader entry)
    {
        string? type = entry.String("Type");
        SectionReader? properties = entry.Section("Properties");
        entry.Required("Type");
        entry.Required("Properties");
        entry.RejectUnknown();
        if (properties is null)
        {
            return null;
        }

        switch (type)
        {
            case "SQS":
                return ReadSqs(name, properties);
            case "Kinesis":
                return ReadKinesis(name, properties);
            case null:
                return null;
            default:
                string? near = new[] { "SQS", "Kinesis" }.FirstOrDefault(t => string.Equals(t, type, StringComparison.OrdinalIgnoreCase));
                string hint = near is null ? string.Empty : $" (did you mean {near}?)";
                entry.Errors.Add(entry.Get("Type"), entry.Child("Type"), $"'{type}' is not supported{hint}; bgpipe runs SQS and Kinesis event source mappings");
                return null;
        }
    }

    private static SqsEventDefinition? ReadSqs(string name, SectionReader p)
    {
        int errorsBefore = p.Errors.All.Count;
        ResourceReference? queue = Reference(p, "Queue", ReferenceTarget.Queue);
        p.Required("Queue");
        bool fifo = queue?.IsFifo ?? false;
        int? batch = p.Int("BatchSize", 1, 10_000, " for a standard queue");
        int? window = p.Int("MaximumBatchingWindowInSeconds", 0, 300);
        if (fifo && batch > 10)
        {
            p.Errors.Add(p.Get("BatchSize"), p.Child("BatchSize"), $"must be between 1 and 10 for a FIFO queue; got {batch}");
        }

        if (fifo && window is > 0)
        {
            p.Errors.Add(p.Get("MaximumBatchingWindowInSeconds"), p.Child("MaximumBatchingWindowInSeconds"), "is not supported for FIFO queues (leave it out or set 0)");
        }

        if (!fifo && batch > 10 && (window ?? 0) < 1)
        {
            p.Errors.Add(p.Get("MaximumBatchingWindowInSeconds") ?? p.Get("BatchSize"), p.Child("MaximumBatchingWindowInSeconds"),
                $"must be at least 1 (up to 300) when BatchSize is over 10 (BatchSize {batch}); got {window ?? 0}");
        }

        bool report = ResponseTypes(p);
        int? maximumConcurrency = null;
        if (p.Section("ScalingConfig") is { } scaling)
        {
            maximumConcurrency = scaling.Int("MaximumConcurrency", 2, 1000);
            scaling.RejectUnknown();
        }

        FilterCriteriaDefinition filters = Filters(p);
        bool enabled = p.Bool("Enabled") ?? true;
        p.RejectUnknown(NotForSqs);
        return queue is null || p.Errors.All.Count > errorsBefore
            ? null
            : new SqsEventDefinition(name, queue, batch ?? SqsEventDefinition.DefaultBatchSize, window ?? 0, report, maximumConcurrency, filters, enabled);
    }

    private static KinesisEventDefinition? ReadKinesis(string name, SectionReader p)
    {
        int errorsBefore = p.Errors.All.Count;
        ResourceReference? stream = Reference(p, "Stream", ReferenceTarget.Stream);
        p.Required("Stream");
        StartingPosition? position = p.String("StartingPosition") switch
        {
            null => null,
            "TRIM_HORIZON" => StartingPosition.TrimHorizon,
            "LATEST" => StartingPosition.Latest,
            "AT_TIMESTAMP" => StartingPosition.AtTimestamp,
            var other => Invalid<StartingPosition?>(p, "StartingPosition", $"must be TRIM_HORIZON, LATEST or AT_TIMESTAMP; got '{other}'"),
        };
        p.Required("StartingPosition");

        DateTimeOffset? timestamp = null;
        if (position == StartingPosition.AtTimestamp)
        {
            p.Required("StartingPositionTimestamp");
            if (p.Number("StartingPositionTimestamp", 0) is { } seconds)
            {
                timestamp = DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000));
            }
        }

        int batch = p.Int("BatchSize", 1, 10_000) ?? KinesisEventDefinition.DefaultBatchSize;
        int window = p.Int("MaximumBatchingWindowInSeconds", 0, 300) ?? 0;
        int parallelization = p.Int("ParallelizationFactor", 1, 10) ?? 1;
        bool bisect = p.Bool("BisectBatchOnFunctionError") ?? false;
        int retries = p.Int("MaximumRetryAttempts", -1, 10_000, " (-1 = infinite)") ?? -1;
        int? age = p.Int("MaximumRecordAgeInSeconds", -1, 604_800, " (-1 = infinite)");
        if (age is >= 0 and < 60)
        {
            p.Errors.Add(p.Get("MaximumRecordAgeInSeconds"), p.Child("MaximumRecordAgeInSeconds"), $"must be -1 (infinite) or between 60 and 604,800; got {age}");
        }

        OnFailureDestination? onFailure = p.Section("DestinationConfig") is { } destination ? ReadDestination(destination) : null;
        bool report = ResponseTypes(p);
        int? tumbling = p.Int("TumblingWindowInSeconds", 0, 900);
        FilterCriteriaDefinition filters = Filters(p);
        bool enabled = p.Bool("Enabled") ?? true;
        p.RejectUnknown(NotForKinesis);
        if (stream is null || position is null || p.Errors.All.Count > errorsBefore)
        {
            return null;
        }

        var settings = new KinesisSettings(position.Value, timestamp, batch, window, parallelization, bisect, retries, age ?? -1, onFailure, report, tumbling, enabled);
        return new KinesisEventDefinition(name, stream, settings, filters);
    }

    private static OnFailureDestination? ReadDestination(SectionReader config)
    {
        OnFailureDestination? result = null;
        if (config.Section("OnFailure") is { } onFailure)
        {
            string? type = onFailure.String("Type");
            if (type is not (null or "SQS" or "SNS" or "S3"))
            {
                onFailure.Errors.Add(onFailure.Get("Type"), onFailure.Child("Type"), $"must be SQS, SNS or S3; got '{type}'");
            }

            ResourceReference? target = Reference(onFailure, "Destination", ReferenceTarget.Destination);
            onFailure.Required("Destination");
            if (target is { Kind: ReferenceKind.Arn } && type is not null && !target.Value.Split(':')[2].Equals(type, StringComparison.OrdinalIgnoreCase))
            {
                onFailure.Errors.Add(onFailure.Get("Destination"), onFailure.Child("Destination"), $"is an ARN of {target.Value.Split(':')[2]}, but Type says {type}");
            }

            onFailure.RejectUnknown();
            result = target is null ? null : new OnFailureDestination(target, type);
        }

        config.Required("OnFailure");
        config.RejectUnknown(new Dictionary<string, string>(StringComparer.Ordinal) { ["OnSuccess"] = "is not supported for event source mappings (only OnFailure)" });
        return result;
    }

    private static bool ResponseTypes(SectionReader p)
    {
        bool report = false;
        if (p.Strings("FunctionResponseTypes") is { } types)
        {
            for (int i = 0; i < types.Count; i++)
            {
                if (types[i].Value == ReportBatchItemFailures)
                {
                    report = true;
                }
                else
                {
                    p.Errors.Add(types[i].Node, $"{p.Child("FunctionResponseTypes")}[{i}]", $"must be ReportBatchItemFailures; got '{types[i].Value}'");
                }
            }
        }

        return report;
    }

    private static FilterCriteriaDefinition Filters(SectionReader p)
    {
        if (p.Section("FilterCriteria") is not { } criteria)
        {
            return FilterCriteriaDefinition.None;
        }

        var patterns = new List<string>();
        YamlNode? filtersNode = criteria.Get("Filters");
        criteria.Required("Filters");
        criteria.RejectUnknown();
        if (filtersNode is null)
        {
            return FilterCriteriaDefinition.None;
        }

        string filtersPath = criteria.Child("Filters");
        if (filtersNode is not YamlSequenceNode filters)
        {
            criteria.Errors.Add(filtersNode, filtersPath, $"expected a list of {{ Pattern: ... }}, got {SectionReader.Describe(filtersNode)}");
            return FilterCriteriaDefinition.None;
        }

        if (filters.Children.Count > FilterCriteriaDefinition.MaxFilters)
        {
            criteria.Errors.Add(filters, filtersPath, $"has {filters.Children.Count} filters; at most {FilterCriteriaDefinition.MaxFilters} are allowed");
        }

        for (int i = 0; i < filters.Children.Count; i++)
        {
            if (SectionReader.Open(filters.Children[i], $"{filtersPath}[{i}]", criteria.Errors) is not { } filter)
            {
                continue;
            }

            filter.Required("Pattern");
            if (filter.String("Pattern") is { } pattern && CheckPattern(pattern) is { } problem)
            {
                filter.Errors.Add(filter.Get("Pattern"), filter.Child("Pattern"), problem);
            }
            else if (filter.String("Pattern") is { } good)
            {
                patterns.Add(good);
            }

            filter.RejectUnknown();
        }

        return new FilterCriteriaDefinition(patterns);
    }

    private static string? CheckPattern(string pattern)
    {
        if (pattern.Length > FilterCriteriaDefinition.MaxPatternLength)
        {
            return $"is {pattern.Length:N0} characters long; at most {FilterCriteriaDefinition.MaxPatternLength:N0} are allowed";
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(pattern);
            return document.RootElement.ValueKind == JsonValueKind.Object ? null : "must be a JSON object, e.g. '{\"body\": {\"output\": [\"cutout\"]}}'";
        }
        catch (JsonException ex)
        {
            return $"is not valid JSON: {ex.Message}";
        }
    }

    private enum ReferenceTarget
    {
        Queue,
        Stream,
        Destination,
    }

    private static ResourceReference? Reference(SectionReader p, string key, ReferenceTarget target)
    {
        YamlNode? node = p.Get(key);
        if (node is null)
        {
            return null;
        }

        string path = p.Child(key);
        string expected = target switch
        {
            ReferenceTarget.Queue => "a queue name, queue URL, SQS ARN or !GetAtt Id.Arn",
            ReferenceTarget.Stream => "a stream name, Kinesis stream ARN or !GetAtt Id.Arn",
            _ => "an SQS, SNS or S3 ARN, a queue name or !GetAtt Id.Arn",
        };

        // SAM's short forms: !GetAtt Id.Arn, !GetAtt [Id, Arn] and !Ref Id name a resource of the template.
        string tag = node.Tag.IsEmpty ? string.Empty : node.Tag.Value;
        if (tag is "!GetAtt" or "!Ref")
        {
            string? logicalId = node switch
            {
                YamlScalarNode { Value: { } v } when tag == "!Ref" => v,
                YamlScalarNode { Value: { } v } when v.EndsWith(".Arn", StringComparison.Ordinal) => v[..^4],
                YamlSequenceNode { Children: [YamlScalarNode { Value: { } id }, YamlScalarNode { Value: "Arn" }] } => id,
                _ => null,
            };
            if (logicalId is null || logicalId.Length == 0 || !logicalId.All(char.IsAsciiLetterOrDigit))
            {
                p.Errors.Add(node, path, $"expected {expected}; {tag} must name a logical id (and .Arn for !GetAtt)");
                return null;
            }

            return new ResourceReference(ReferenceKind.LogicalId, logicalId);
        }

        if (p.Scalar(node, path, expected) is not { } text)
        {
            return null;
        }

        if (text.StartsWith("arn:", StringComparison.Ordinal))
        {
            string[] parts = text.Split(':');
            string[] services = target switch
            {
                ReferenceTarget.Queue => ["sqs"],
                ReferenceTarget.Stream => ["kinesis"],
                _ => ["sqs", "sns", "s3"],
            };
            bool streamShape = target != ReferenceTarget.Stream || (parts.Length == 6 && parts[5].StartsWith("stream/", StringComparison.Ordinal) && parts[5].Length > 7);
            if (parts.Length < 6 || !services.Contains(parts[2]) || parts[^1].Length == 0 || !streamShape)
            {
                string shape = target switch
                {
                    ReferenceTarget.Queue => "arn:aws:sqs:REGION:ACCOUNT:NAME",
                    ReferenceTarget.Stream => "arn:aws:kinesis:REGION:ACCOUNT:stream/NAME",
                    _ => "arn:aws:sqs|sns:REGION:ACCOUNT:NAME or arn:aws:s3:::BUCKET",
                };
                p.Errors.Add(node, path, $"'{text}' is not a valid ARN here; expected {shape}");
                return null;
            }

            return new ResourceReference(ReferenceKind.Arn, text);
        }

        if (text.StartsWith("http://", StringComparison.Ordinal) || text.StartsWith("https://", StringComparison.Ordinal))
        {
            if (target != ReferenceTarget.Queue || !Uri.TryCreate(text, UriKind.Absolute, out Uri? url) || url.AbsolutePath.Trim('/').Length == 0)
            {
                p.Errors.Add(node, path, $"'{text}' is not allowed here; expected {expected}");
                return null;
            }

            var reference = new ResourceReference(ReferenceKind.Url, text);
            return ResourceNames.CheckQueueName(reference.ResourceName) is { } urlProblem ? Invalid<ResourceReference?>(p, key, urlProblem) : reference;
        }

        string? problem = target == ReferenceTarget.Stream ? ResourceNames.CheckStreamName(text) : ResourceNames.CheckQueueName(text);
        return problem is null ? new ResourceReference(ReferenceKind.Name, text) : Invalid<ResourceReference?>(p, key, problem);
    }

    private static T Invalid<T>(SectionReader p, string key, string message)
    {
        p.Errors.Add(p.Get(key), p.Child(key), message);
        return default!;
    }
}
