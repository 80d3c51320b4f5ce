using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Pipeline.Aws.Provisioning;
using Pipeline.Testing;
using Pipeline.Testing.Emulators;
using YamlDotNet.RepresentationModel;

namespace Pipeline.Aws.Tests.Provisioning;

/// <summary>
/// The resource list is the one source: template.yaml must declare the same resources with the same settings, and
/// infra-sam/localstack/init-aws.sh must be its rendering. These tests fail when either drifts.
/// </summary>
public sealed class TemplateAgreementTests
{
    private static readonly Lazy<YamlMappingNode> Template = new(() =>
    {
        // The representation model keeps CloudFormation's short-form tags (!Ref, !GetAtt, !FindInMap) on the nodes.
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(RepositoryRoot.Combine("template.yaml"))));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    });

    private static YamlMappingNode Map(YamlNode node, string key) => (YamlMappingNode)((YamlMappingNode)node).Children[new YamlScalarNode(key)];

    private static YamlNode Value(YamlNode node, string key) => ((YamlMappingNode)node).Children[new YamlScalarNode(key)];

    private static string Text(YamlNode node, string key) => ((YamlScalarNode)Value(node, key)).Value!;

    private static YamlMappingNode Properties(string logicalId) => Map(Map(Map(Template.Value, "Resources"), logicalId), "Properties");

    private static int[] AllowedTimeouts() =>
        [.. ((YamlSequenceNode)Value(Map(Map(Template.Value, "Parameters"), "FunctionTimeoutSeconds"), "AllowedValues")).Children.Select(n => int.Parse(((YamlScalarNode)n).Value!, CultureInfo.InvariantCulture))];

    [Fact]
    public void Given_the_template_When_its_queues_tables_and_streams_are_listed_Then_they_are_exactly_the_committed_resource_list()
    {
        // Buckets are left out: in AWS their names are global, so the template lets CloudFormation name its input and
        // output buckets (the function gets them through BGPIPE_BUCKETS), while provision makes buckets only when asked
        // (--bucket, or a pipeline's Buckets) under the names jobs use. Deployment/ tests check the template's two.
        string[] managedTypes = ["AWS::SQS::Queue", "AWS::DynamoDB::Table", "AWS::Kinesis::Stream"];
        var inTemplate = Map(Template.Value, "Resources").Children
            .Where(r => managedTypes.Contains(Text(r.Value, "Type")))
            .Select(r => ((YamlScalarNode)r.Key).Value!)
            .Order(StringComparer.Ordinal);

        Assert.Empty(InitScript.Committed.Buckets);
        Assert.Equal(InitScript.Committed.All.Select(r => r.LogicalId).Order(StringComparer.Ordinal), inTemplate);
    }

    [Fact]
    public void Given_the_template_When_each_resource_type_is_read_Then_it_matches_the_kind_the_resource_list_gives_it()
    {
        foreach (ProvisionedResource resource in InitScript.Committed.All)
        {
            string expected = resource switch
            {
                QueueResource => "AWS::SQS::Queue",
                TableResource or LeaseTableResource => "AWS::DynamoDB::Table",
                StreamResource => "AWS::Kinesis::Stream",
                _ => throw new InvalidOperationException($"no template type known for {resource}"),
            };
            Assert.Equal(expected, Text(Map(Map(Template.Value, "Resources"), resource.LogicalId), "Type"));
        }
    }

    [Fact]
    public void Given_the_template_When_the_stream_is_read_Then_its_shard_count_is_the_parameter_whose_default_and_range_are_the_lists()
    {
        StreamResource expected = InitScript.Committed.JobsStream!;
        YamlMappingNode stream = Properties(expected.LogicalId);
        YamlNode shards = Value(stream, "ShardCount");
        YamlMappingNode parameter = Map(Map(Template.Value, "Parameters"), ((YamlScalarNode)shards).Value!);

        Assert.Equal("!Ref", shards.Tag.Value);
        Assert.Equal(expected.ShardCount, int.Parse(Text(parameter, "Default"), CultureInfo.InvariantCulture));
        Assert.Equal(1, int.Parse(Text(parameter, "MinValue"), CultureInfo.InvariantCulture));
        Assert.Equal(ResourceList.MaxStreamShards, int.Parse(Text(parameter, "MaxValue"), CultureInfo.InvariantCulture));
        Assert.Equal("PROVISIONED", Text(Map(stream, "StreamModeDetails"), "StreamMode"));
        Assert.Equal(("KMS", "alias/aws/kinesis"), (Text(Map(stream, "StreamEncryption"), "EncryptionType"), Text(Map(stream, "StreamEncryption"), "KeyId")));
    }

    [Fact]
    public void Given_the_template_When_the_on_failure_queue_is_read_Then_retention_and_encryption_match_and_it_redrives_nowhere()
    {
        QueueResource expected = InitScript.Committed.StreamFailuresQueue!;
        YamlMappingNode queue = Properties(expected.LogicalId);

        Assert.Equal(expected.MessageRetentionPeriodSeconds, int.Parse(Text(queue, "MessageRetentionPeriod"), CultureInfo.InvariantCulture));
        Assert.Equal("true", Text(queue, "SqsManagedSseEnabled"));
        Assert.Null(expected.DeadLetterQueue);
        Assert.False(queue.Children.ContainsKey(new YamlScalarNode("RedrivePolicy")));
        Assert.False(queue.Children.ContainsKey(new YamlScalarNode("FifoQueue")));
    }

    [Fact]
    public void Given_the_template_When_the_lease_table_is_read_Then_key_billing_and_encryption_match()
    {
        LeaseTableResource expected = InitScript.Committed.LeaseTable!;
        YamlMappingNode table = Properties(expected.LogicalId);

        var key = (YamlMappingNode)Assert.Single(((YamlSequenceNode)Value(table, "KeySchema")).Children);
        Assert.Equal((expected.PartitionKey, "HASH"), (Text(key, "AttributeName"), Text(key, "KeyType")));
        var attribute = (YamlMappingNode)Assert.Single(((YamlSequenceNode)Value(table, "AttributeDefinitions")).Children);
        Assert.Equal((expected.PartitionKey, expected.PartitionKeyType), (Text(attribute, "AttributeName"), Text(attribute, "AttributeType")));
        Assert.Equal(expected.BillingMode, Text(table, "BillingMode"));
        Assert.Equal(expected.ServerSideEncryption ? "true" : "false", Text(Map(table, "SSESpecification"), "SSEEnabled"));
        Assert.False(table.Children.ContainsKey(new YamlScalarNode("TimeToLiveSpecification")));
    }

    [Fact]
    public void Given_every_allowed_function_timeout_When_the_template_maps_it_Then_the_visibility_timeout_equals_the_resource_lists()
    {
        YamlNode visibility = Value(Properties("JobsQueue"), "VisibilityTimeout");
        Assert.Equal("!FindInMap", visibility.Tag.Value);
        var findInMap = ((YamlSequenceNode)visibility).Children;
        Assert.Equal("!Ref", findInMap[1].Tag.Value);
        Assert.Equal("FunctionTimeoutSeconds", ((YamlScalarNode)findInMap[1]).Value);
        YamlMappingNode table = Map(Map(Template.Value, "Mappings"), ((YamlScalarNode)findInMap[0]).Value!);
        int[] allowed = AllowedTimeouts();

        Assert.NotEmpty(allowed);
        foreach (int timeout in allowed)
        {
            string mapped = Text(Map(table, timeout.ToString(CultureInfo.InvariantCulture)), ((YamlScalarNode)findInMap[2]).Value!);
            Assert.Equal(ResourceList.For(functionTimeoutSeconds: timeout).JobsQueue.VisibilityTimeoutSeconds, int.Parse(mapped, CultureInfo.InvariantCulture));
        }

        Assert.Equal(InitScript.Committed.FunctionTimeoutSeconds, int.Parse(Text(Map(Map(Template.Value, "Parameters"), "FunctionTimeoutSeconds"), "Default"), CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Given_the_template_When_its_queues_are_read_Then_redrive_dead_letter_queue_retention_and_encryption_match()
    {
        ResourceList list = InitScript.Committed;
        YamlMappingNode jobs = Properties(list.JobsQueue.LogicalId);
        YamlMappingNode dlq = Properties(list.JobsDeadLetterQueue.LogicalId);
        YamlMappingNode redrive = Map(jobs, "RedrivePolicy");

        Assert.Equal(list.JobsQueue.MaxReceiveCount, int.Parse(Text(redrive, "maxReceiveCount"), CultureInfo.InvariantCulture));
        YamlNode target = Value(redrive, "deadLetterTargetArn");
        Assert.Equal("!GetAtt", target.Tag.Value);
        Assert.Equal($"{list.JobsDeadLetterQueue.LogicalId}.Arn", ((YamlScalarNode)target).Value);
        Assert.Equal(list.JobsDeadLetterQueue.MessageRetentionPeriodSeconds, int.Parse(Text(dlq, "MessageRetentionPeriod"), CultureInfo.InvariantCulture));
        Assert.Equal("true", Text(jobs, "SqsManagedSseEnabled"));
        Assert.Equal("true", Text(dlq, "SqsManagedSseEnabled"));
        Assert.False(jobs.Children.ContainsKey(new YamlScalarNode("FifoQueue")));
    }

    [Fact]
    public void Given_the_template_When_the_idempotency_table_is_read_Then_key_index_ttl_billing_and_protection_match()
    {
        TableResource expected = InitScript.Committed.IdempotencyTable;
        YamlMappingNode table = Properties(expected.LogicalId);

        var key = (YamlMappingNode)Assert.Single(((YamlSequenceNode)Value(table, "KeySchema")).Children);
        Assert.Equal((expected.PartitionKey, "HASH"), (Text(key, "AttributeName"), Text(key, "KeyType")));
        var attributes = ((YamlSequenceNode)Value(table, "AttributeDefinitions")).Children.Cast<YamlMappingNode>().Select(a => (Text(a, "AttributeName"), Text(a, "AttributeType")));
        Assert.Equal([(expected.PartitionKey, expected.PartitionKeyType), (expected.IndexPartitionKey!, "S")], attributes);
        var index = (YamlMappingNode)Assert.Single(((YamlSequenceNode)Value(table, "GlobalSecondaryIndexes")).Children);
        Assert.Equal(expected.IndexName, Text(index, "IndexName"));
        var indexKey = (YamlMappingNode)Assert.Single(((YamlSequenceNode)Value(index, "KeySchema")).Children);
        Assert.Equal((expected.IndexPartitionKey, "HASH"), (Text(indexKey, "AttributeName"), Text(indexKey, "KeyType")));
        Assert.Equal("ALL", Text(Map(index, "Projection"), "ProjectionType"));
        YamlMappingNode ttl = Map(table, "TimeToLiveSpecification");
        Assert.Equal((expected.TimeToLiveAttribute, "true"), (Text(ttl, "AttributeName"), Text(ttl, "Enabled")));
        Assert.Equal(expected.BillingMode, Text(table, "BillingMode"));
        Assert.Equal("true", Text(Map(table, "SSESpecification"), "SSEEnabled"));
        Assert.Equal(expected.PointInTimeRecovery ? "true" : "false", Text(Map(table, "PointInTimeRecoverySpecification"), "PointInTimeRecoveryEnabled"));
    }
}

public sealed class InitScriptAgreementTests
{
    [Fact]
    public void Given_the_committed_init_script_When_compared_with_the_rendering_of_the_resource_list_Then_they_are_equal()
    {
        string committed = File.ReadAllText(RepositoryRoot.Combine(InitScript.RepositoryPath));

        // If this fails: bgpipe provision --shards 1 --print-init-script > infra-sam/localstack/init-aws.sh
        Assert.Equal(InitScript.Render(InitScript.Committed), committed);
    }

    [Fact]
    public void Given_the_committed_init_script_When_read_Then_it_carries_the_templates_facts()
    {
        string script = File.ReadAllText(RepositoryRoot.Combine(InitScript.RepositoryPath));

        Assert.StartsWith("#!/bin/bash\n", script, StringComparison.Ordinal);
        Assert.Contains("--queue-name jobs-dlq ", script, StringComparison.Ordinal);
        Assert.Contains("--queue-name jobs ", script, StringComparison.Ordinal);
        Assert.Contains("\\\\\"maxReceiveCount\\\\\":5", script, StringComparison.Ordinal);
        Assert.Contains("\"VisibilityTimeout\":\"360\"", script, StringComparison.Ordinal);
        Assert.Contains("\"MessageRetentionPeriod\":\"1209600\"", script, StringComparison.Ordinal);
        Assert.Contains("AttributeName=id,KeyType=HASH", script, StringComparison.Ordinal);
        Assert.Contains("Enabled=true,AttributeName=expiration", script, StringComparison.Ordinal);
        Assert.Contains("kinesis create-stream --stream-name jobs-stream --shard-count 1\n", script, StringComparison.Ordinal);
        Assert.Contains("--queue-name jobs-stream-failures ", script, StringComparison.Ordinal);
        Assert.Contains("--table-name kinesis-leases", script, StringComparison.Ordinal);
        Assert.Contains("AttributeName=leaseKey,KeyType=HASH", script, StringComparison.Ordinal);
        Assert.Contains("bgpipe provision --shards 1 --print-init-script", script, StringComparison.Ordinal);
    }
}

/// <summary>Runs a rendered init script against moto_server, with `awslocal` standing in as `aws --endpoint-url`.</summary>
[Collection(EmulatorCollections.Moto)]
public sealed class InitScriptOnMotoTests(MotoFixture moto)
{
    [AwsCliFact]
    public async Task Given_the_rendered_init_script_When_run_twice_Then_provision_finds_every_resource_unchanged()
    {
        ResourceList list = ResourceList.For($"i{Guid.NewGuid():N}"[..10] + "-", functionTimeoutSeconds: 30, buckets: [$"i-{Guid.NewGuid():N}"]);
        string dir = Directory.CreateTempSubdirectory("bgpipe-init-").FullName;
        try
        {
            string shim = Path.Combine(dir, "awslocal");
            await File.WriteAllTextAsync(shim, $"#!/bin/sh\nexec \"{AwsCliFactAttribute.AwsCli}\" --endpoint-url \"{moto.Process.Endpoint}\" \"$@\"\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(shim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            string script = Path.Combine(dir, "init-aws.sh");
            await File.WriteAllTextAsync(script, InitScript.Render(list));

            (int first, string firstOutput) = await RunAsync(script, dir);
            (int second, string secondOutput) = await RunAsync(script, dir);

            Assert.True(first == 0, firstOutput);
            Assert.True(second == 0, secondOutput);
            using ProvisioningClients clients = ProvisioningClients.For(moto.Endpoint);
            ProvisionReport report = await new Provisioner(clients).ApplyAsync(list, dryRun: true, CancellationToken.None);
            Assert.All(report.Outcomes, o => Assert.True(o.Action == ProvisionAction.Unchanged, o.ToString()));
            Assert.Equal(list.All.Count(), report.Outcomes.Count);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string script, string shimDirectory)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(script);
        start.Environment["PATH"] = shimDirectory + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH");
        start.Environment["AWS_ACCESS_KEY_ID"] = "test";
        start.Environment["AWS_SECRET_ACCESS_KEY"] = "test";
        start.Environment["AWS_DEFAULT_REGION"] = AwsEndpoint.DefaultLocalRegion;
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}

[Collection(EmulatorCollections.Dynalite)]
public sealed class ProvisionerOnDynaliteTests(DynaliteFixture dynalite, MotoFixture moto) : IClassFixture<MotoFixture>
{
    [EmulatorFact(EmulatorKind.Dynalite, EmulatorKind.Moto)]
    public async Task Given_an_endpoint_without_the_TTL_API_When_provisioned_Then_the_table_is_made_and_a_warning_names_the_endpoint()
    {
        // Queues and buckets on moto, the table on dynalite (which has no TTL or continuous-backups API).
        using ProvisioningClients onMoto = ProvisioningClients.For(moto.Endpoint);
        using ProvisioningClients table = ProvisioningClients.For(dynalite.Endpoint);
        var clients = new ProvisioningClients(onMoto.Sqs, table.DynamoDb, onMoto.S3, dynalite.Endpoint.ToString(), AwsEndpoint.DefaultLocalRegion);
        ResourceList list = ResourceList.For($"d{Guid.NewGuid():N}"[..10] + "-");

        ProvisionReport report = await new Provisioner(clients, tablePollInterval: TimeSpan.FromMilliseconds(20)).ApplyAsync(list, dryRun: false, CancellationToken.None);
        ProvisionReport again = await new Provisioner(clients, tablePollInterval: TimeSpan.FromMilliseconds(20)).ApplyAsync(list, dryRun: false, CancellationToken.None);

        Assert.Equal(ProvisionAction.Created, report.For(list.IdempotencyTable).Action);
        Assert.Contains(report.Warnings, w => w.Contains(dynalite.Endpoint.ToString(), StringComparison.Ordinal) && w.Contains("TTL", StringComparison.Ordinal));
        Assert.True(again.For(list.IdempotencyTable).Action == ProvisionAction.Unchanged, again.For(list.IdempotencyTable).ToString());
        Assert.Contains(list.IdempotencyTable.Name, (await table.DynamoDb.ListTablesAsync()).TableNames);
    }
}

/// <summary>Needs moto_server and the AWS CLI (the stand-in for LocalStack's awslocal); skips naming what is missing.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class AwsCliFactAttribute : FactAttribute
{
    public static readonly string? AwsCli = Environment.GetEnvironmentVariable("PATH")?.Split(Path.PathSeparator)
        .Select(d => Path.Combine(d, "aws")).FirstOrDefault(File.Exists);

    public AwsCliFactAttribute()
    {
        Skip = EmulatorAvailability.WhyUnavailable(EmulatorKind.Moto)
            ?? (AwsCli is null ? "the AWS CLI (aws) is not on PATH, so the init script cannot run against moto_server" : null);
    }
}
