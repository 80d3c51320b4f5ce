using System.CommandLine;
using Amazon.Runtime;
using Pipeline.Aws;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Aws.Kinesis.Leases;
using Pipeline.Aws.Mappings;
using Pipeline.Aws.Provisioning;

namespace Pipeline.Cli.Commands;

/// <summary>
/// <c>bgpipe provision --endpoint-url URL [--prefix NAME] [--dry-run] [--shards N]</c>: creates what the mappings need
/// (the jobs queue and its DLQ, the idempotency table, buckets when asked, the Kinesis stream, its on-failure queue and
/// the lease table with --shards or a pipeline's Kinesis event) from <see cref="ResourceList"/>, safely on rerun.
/// </summary>
internal static class ProvisionCommand
{
    private sealed record Settings(string? EndpointUrl, string Prefix, bool DryRun, int? FunctionTimeout, int? Shards, string[] Buckets, string? Pipeline, bool PrintInitScript, string? KinesisEndpointUrl);

    public static Command Create()
    {
        var endpoint = new Option<string?>("--endpoint-url") { Description = "The AWS-compatible endpoint (LocalStack, moto_server); deploy to AWS itself with SAM." };
        var prefix = new Option<string>("--prefix") { Description = "Put this before every queue and table name (e.g. 'dev-' makes dev-jobs).", DefaultValueFactory = _ => string.Empty };
        var dryRun = new Option<bool>("--dry-run") { Description = "Say what would be created or updated; change nothing." };
        var timeout = new Option<int?>("--function-timeout") { Description = $"The function timeout in seconds, 1-900 (default {FunctionDefinition.DefaultTimeoutSeconds}); the jobs queue's visibility timeout is 6 x this." };
        var bucket = new Option<string[]>("--bucket") { Description = "Also create this S3 bucket (repeatable).", AllowMultipleArgumentsPerToken = false, DefaultValueFactory = _ => [] };
        var pipeline = new Option<string?>("--pipeline") { Description = "Take the timeout, queue name, table and buckets from this pipelines/*.yaml file." };
        var shards = new Option<int?>("--shards") { Description = $"Also create the Kinesis stream <prefix>{ResourceList.DefaultJobsStream} with this many shards (1-{ResourceList.MaxStreamShards}), its on-failure queue and the lease table; with --pipeline, the shard count of its stream (default {ResourceList.DefaultStreamShards})." };
        var kinesisEndpoint = new Option<string?>("--kinesis-endpoint-url") { Description = "Kinesis at another endpoint than --endpoint-url (e.g. kinesalite beside moto_server)." };
        var printScript = new Option<bool>("--print-init-script") { Description = "Print the LocalStack init script for these resources instead of provisioning." };
        var command = new Command("provision", "Create the queues, table and buckets the mappings need (safe to rerun).")
        {
            endpoint, prefix, dryRun, timeout, shards, bucket, pipeline, printScript, kinesisEndpoint,
        };
        command.SetAction((parse, ct) => RunAsync(
            new Settings(parse.GetValue(endpoint), parse.GetValue(prefix) ?? string.Empty, parse.GetValue(dryRun), parse.GetValue(timeout), parse.GetValue(shards), parse.GetValue(bucket) ?? [], parse.GetValue(pipeline), parse.GetValue(printScript), parse.GetValue(kinesisEndpoint)),
            ct));
        return command;
    }

    private static async Task<int> RunAsync(Settings settings, CancellationToken ct)
    {
        ResourceList resources;
        try
        {
            resources = Resources(settings);
        }
        catch (MappingDefinitionException ex)
        {
            foreach (MappingError error in ex.Errors)
            {
                await Console.Error.WriteLineAsync($"bgpipe provision: {error}");
            }

            return ExitCodes.Usage;
        }
        catch (ArgumentException ex)
        {
            return Fail(Clean(ex), ExitCodes.Usage);
        }
        catch (FileNotFoundException)
        {
            return Fail($"{settings.Pipeline}: no such file", ExitCodes.Usage);
        }

        if (settings.PrintInitScript)
        {
            Console.Out.Write(InitScript.Render(resources));
            return ExitCodes.Ok;
        }

        if (string.IsNullOrWhiteSpace(settings.EndpointUrl))
        {
            return Fail("--endpoint-url is required (LocalStack, moto_server, ...); deploy to AWS itself with SAM (template.yaml)", ExitCodes.Usage);
        }

        AwsEndpoint endpoint;
        AwsEndpoint? kinesisEndpoint;
        try
        {
            endpoint = AwsEndpoint.FromOption(settings.EndpointUrl);
            kinesisEndpoint = settings.KinesisEndpointUrl is null ? null : AwsEndpoint.FromOption(settings.KinesisEndpointUrl);
        }
        catch (ArgumentException ex)
        {
            return Fail(Clean(ex), ExitCodes.Usage);
        }

        using ProvisioningClients clients = ProvisioningClients.For(endpoint, kinesisEndpoint);
        var provisioner = new Provisioner(clients);
        try
        {
            ProvisionReport report = await provisioner.ApplyAsync(resources, settings.DryRun, ct);
            foreach (ResourceOutcome outcome in report.Outcomes)
            {
                Console.WriteLine(outcome);
            }

            foreach (string warning in report.Warnings)
            {
                await Console.Error.WriteLineAsync($"bgpipe provision: warning: {warning}");
            }

            Console.WriteLine(Summary(report, settings.DryRun, endpoint));
            return ExitCodes.Ok;
        }
        catch (EndpointUnreachableException ex)
        {
            if (!settings.DryRun)
            {
                return Fail(ex.Message, ExitCodes.Infrastructure);
            }

            // Nothing could be read, so show the whole list as it would be made on an empty endpoint.
            await Console.Error.WriteLineAsync($"bgpipe provision: {ex.Message}; nothing could be read. On an empty endpoint this would be created:");
            foreach (ProvisionedResource resource in resources.All)
            {
                Console.WriteLine(new ResourceOutcome(resource, ProvisionAction.WouldCreate, []));
            }

            return ExitCodes.Infrastructure;
        }
        catch (ProvisioningConflictException ex)
        {
            return Fail(ex.Message, ExitCodes.Infrastructure);
        }
        catch (AmazonServiceException ex)
        {
            return Fail($"{endpoint} refused: {ex.ErrorCode}: {ex.Message}", ExitCodes.Infrastructure);
        }
        catch (KinesisServiceException ex)
        {
            return Fail($"{endpoint} refused: {ex.ErrorType}: {ex.Message}", ExitCodes.Infrastructure);
        }
        catch (Exception ex) when (ex is LeaseStoreRequestException or LeaseStoreUnavailableException)
        {
            return Fail(ex.Message, ExitCodes.Infrastructure);
        }
        catch (TimeoutException ex)
        {
            return Fail(ex.Message, ExitCodes.Infrastructure);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return Fail("interrupted; what was created so far stays (rerun to finish)", ExitCodes.Interrupted);
        }
    }

    private static ResourceList Resources(Settings settings)
    {
        if (settings.Pipeline is null)
        {
            return ResourceList.For(settings.Prefix, settings.FunctionTimeout ?? FunctionDefinition.DefaultTimeoutSeconds, settings.Buckets, streamShards: settings.Shards);
        }

        PipelineDefinition definition = PipelineDefinitionLoader.LoadFile(settings.Pipeline);
        if (settings.FunctionTimeout is { } given && given != definition.Function.TimeoutSeconds)
        {
            throw new ArgumentException($"--function-timeout {given} disagrees with Function.Timeout {definition.Function.TimeoutSeconds} in {settings.Pipeline}; give one");
        }

        return ResourceList.For(definition, settings.Prefix, settings.Buckets, settings.Shards);
    }

    private static string Summary(ProvisionReport report, bool dryRun, AwsEndpoint endpoint)
    {
        int Count(ProvisionAction a) => report.Outcomes.Count(o => o.Action == a);
        return dryRun
            ? $"dry run on {endpoint}: {Count(ProvisionAction.WouldCreate)} to create, {Count(ProvisionAction.WouldUpdate)} to update, {Count(ProvisionAction.Unchanged)} unchanged; nothing was changed"
            : $"{endpoint}: {Count(ProvisionAction.Created)} created, {Count(ProvisionAction.Updated)} updated, {Count(ProvisionAction.Unchanged)} unchanged";
    }

    /// <summary>The sentence only: no "(Parameter 'x')" or "Actual value was" lines for users.</summary>
    private static string Clean(ArgumentException ex) => ex.Message.Split('\n')[0].Split(" (Parameter", 2)[0].TrimEnd();

    private static int Fail(string message, int code)
    {
        Console.Error.WriteLine($"bgpipe provision: {message}");
        return code;
    }
}
