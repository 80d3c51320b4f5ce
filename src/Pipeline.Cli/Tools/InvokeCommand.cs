using System.CommandLine;
using System.Text;
using Microsoft.Extensions.Logging;
using Pipeline.Aws.Mappings;
using Pipeline.BackgroundRemoval.Model;
using Pipeline.Cli.Telemetry;
using Pipeline.Lambda.Events;
using Pipeline.Lambda.Handlers;
using Pipeline.Lambda.Hosting;
using Pipeline.Lambda.Runtime;

namespace Pipeline.Cli.Tools;

/// <summary>
/// <c>bgpipe invoke &lt;event.json&gt; [--endpoint-url URL]</c>: runs the Lambda function's own handlers
/// (<see cref="LambdaStack"/>) in this process on one SQS or Kinesis event, as <c>sam local invoke -e</c> does, and
/// prints the <c>batchItemFailures</c> response. Configuration is the function's: the BGPIPE_* variables of
/// <see cref="LambdaSettings"/>, then a pipeline file's Function section, then the flags, each overriding the one before.
/// </summary>
internal static class InvokeCommand
{
    private sealed record Settings(
        string File, string? EndpointUrl, string? Pipeline, string? Table, string[] Buckets, string? OutputPrefix, string? Model, int? TimeoutSeconds, string LogLevel);

    public static Command Create()
    {
        var file = new Argument<string>("event") { Description = "An SQS or Kinesis Lambda event file, e.g. events/sqs-normal-batch.json." };
        var endpoint = new Option<string?>("--endpoint-url") { Description = $"An AWS-compatible endpoint (overrides {LambdaSettings.EndpointVariable})." };
        var pipeline = new Option<string?>("--pipeline") { Description = "Take the idempotency table, buckets, output prefix and timeout from this pipelines/*.yaml file." };
        var table = new Option<string?>("--table") { Description = $"The DynamoDB idempotency table (overrides {LambdaSettings.IdempotencyTableVariable} and --pipeline)." };
        var bucket = new Option<string[]>("--bucket") { Description = $"An S3 bucket the function may use (repeatable; overrides {LambdaSettings.BucketsVariable} and --pipeline).", DefaultValueFactory = _ => [] };
        var prefix = new Option<string?>("--output-prefix") { Description = $"Key prefix for jobs without a destination (overrides {LambdaSettings.OutputPrefixVariable})." };
        Option<string?> model = Commands.CommonOptions.Model();
        model.Description += $" Overrides {LambdaSettings.ModelPathVariable}; default: bgpipe's own model.";
        var timeout = new Option<int?>("--timeout") { Description = "The invocation's deadline in seconds, as the function timeout (default: the pipeline's Function.Timeout, else 60)." };
        var logLevel = new Option<string>("--log-level") { Description = "The function's log lines on stderr: trace, debug, information, warning or error.", DefaultValueFactory = _ => "warning" };
        var command = new Command("invoke", "Run the Lambda function in process on one SQS or Kinesis event file and print its batchItemFailures response.")
        {
            file, endpoint, pipeline, table, bucket, prefix, model, timeout, logLevel,
        };
        command.SetAction((parse, ct) => RunAsync(
            new Settings(parse.GetValue(file)!, parse.GetValue(endpoint), parse.GetValue(pipeline), parse.GetValue(table), parse.GetValue(bucket) ?? [],
                parse.GetValue(prefix), parse.GetValue(model), parse.GetValue(timeout), parse.GetValue(logLevel)!),
            Environment.GetEnvironmentVariable,
            ct));
        return command;
    }

    private static async Task<int> RunAsync(Settings s, Func<string, string?> environment, CancellationToken ct)
    {
        if (s.TimeoutSeconds is { } t && (t < 1 || t > FunctionDefinition.MaxTimeoutSeconds))
        {
            return Fail($"--timeout must be between 1 and {FunctionDefinition.MaxTimeoutSeconds} seconds (got {t})", ExitCodes.Usage);
        }

        if (!Enum.TryParse(s.LogLevel, ignoreCase: true, out LogLevel level) || level == LogLevel.None)
        {
            return Fail($"--log-level must be trace, debug, information, warning or error (got '{s.LogLevel}')", ExitCodes.Usage);
        }

        byte[] payload;
        try
        {
            payload = EventFile.Read(s.File).Payload;
        }
        catch (EventFileException ex)
        {
            return Fail(ex.Message, ExitCodes.Usage);
        }

        FunctionDefinition? function = null;
        if (s.Pipeline is not null)
        {
            try
            {
                function = PipelineDefinitionLoader.LoadFile(s.Pipeline).Function;
            }
            catch (MappingDefinitionException ex)
            {
                return Fail(ex.Message, ExitCodes.Usage);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return Fail($"cannot read {s.Pipeline}: {ex.Message}", ExitCodes.Usage);
            }
        }

        LambdaSettings settings;
        try
        {
            settings = LambdaSettings.FromEnvironment(Overlay(s, function, environment));
        }
        catch (LambdaConfigurationException ex)
        {
            return Fail($"{ex.Message} (or give the flag: --table, --bucket, --pipeline, --endpoint-url)", ExitCodes.Usage);
        }
        catch (ModelNotFoundException ex)
        {
            return Fail(ex.Message, ExitCodes.Infrastructure);
        }

        TimeProvider time = TimeProvider.System;
        using ILoggerFactory loggers = ConsoleLineLoggerProvider.CreateFactory(level);
        LambdaStack stack;
        try
        {
            stack = await LambdaStack.CreateAsync(settings, time, loggers, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ModelNotFoundException or ModelDescriptorMismatchException)
        {
            return Fail(ex.Message, ExitCodes.Infrastructure);
        }
        catch (ArgumentException ex)
        {
            return Fail(ex.Message.Split(" (Parameter", 2)[0], ExitCodes.Usage);
        }

        await using (stack.ConfigureAwait(false))
        {
            TimeSpan timeout = TimeSpan.FromSeconds(s.TimeoutSeconds ?? function?.TimeoutSeconds ?? FunctionDefinition.DefaultTimeoutSeconds);
            var request = new InvocationRequest
            {
                RequestId = Guid.NewGuid().ToString(),
                Deadline = time.GetUtcNow() + timeout,
                InvokedFunctionArn = "arn:aws:lambda:local:000000000000:function:bgpipe-invoke",
                Payload = payload,
            };
            try
            {
                byte[] response = await stack.Function.HandleAsync(request, ct).ConfigureAwait(false);
                Console.WriteLine(Encoding.UTF8.GetString(response));
                return ExitCodes.Ok;
            }
            catch (Exception ex) when (ex is UnsupportedEventException or InvalidEventException)
            {
                return Fail($"{s.File}: {ex.Message}", ExitCodes.Usage);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return Fail("interrupted", ExitCodes.Interrupted);
            }
        }
    }

    /// <summary>The environment the function would see: BGPIPE_* variables, then the pipeline file, then the flags.</summary>
    private static Func<string, string?> Overlay(Settings s, FunctionDefinition? function, Func<string, string?> environment)
    {
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (function is not null)
        {
            values[LambdaSettings.IdempotencyTableVariable] = function.IdempotencyTable;
            values[LambdaSettings.BucketsVariable] = function.Buckets.Count > 0 ? string.Join(',', function.Buckets) : null;
            values[LambdaSettings.OutputPrefixVariable] = function.OutputPrefix;
        }

        void Set(string name, string? value)
        {
            if (value is not null)
            {
                values[name] = value;
            }
        }

        Set(LambdaSettings.IdempotencyTableVariable, s.Table);
        Set(LambdaSettings.BucketsVariable, s.Buckets.Length > 0 ? string.Join(',', s.Buckets) : null);
        Set(LambdaSettings.OutputPrefixVariable, s.OutputPrefix);
        Set(LambdaSettings.EndpointVariable, s.EndpointUrl);
        Set(LambdaSettings.ModelPathVariable, s.Model);

        // The Lambda default (/opt/models, the layer) is not here; use the model bgpipe itself runs with.
        if (!values.ContainsKey(LambdaSettings.ModelPathVariable) && string.IsNullOrWhiteSpace(environment(LambdaSettings.ModelPathVariable)))
        {
            values[LambdaSettings.ModelPathVariable] = ModelLocator.Resolve(null, out _);
        }

        return name => values.TryGetValue(name, out string? value) && value is not null ? value : environment(name);
    }

    private static int Fail(string message, int code)
    {
        Console.Error.WriteLine($"bgpipe invoke: {message}");
        return code;
    }
}
