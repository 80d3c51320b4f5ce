using System.Globalization;
using System.Text.Json.Nodes;
using Pipeline.Aws.Provisioning;
using Pipeline.Aws.S3;
using Pipeline.Testing;

namespace Pipeline.Aws.Tests.Deployment;

/// <summary>What CloudFormation gets from template.yaml once SAM has expanded it, for each architecture and timeout.</summary>
public sealed class ExpandedTemplateTests
{
    /// <summary>Services whose resources hold job data or job state: no wildcard action or resource on them.</summary>
    private static readonly string[] DataServices = ["sqs", "kinesis", "dynamodb", "s3"];

    /// <summary>AWS-managed policies the stack may attach: logs only, and CodeDeploy's own role for traffic shifting.</summary>
    private static readonly string[] AllowedManagedPolicies = ["AWSLambdaBasicExecutionRole", "AWSCodeDeployRoleForLambda"];

    [SamTranslatorTheory]
    [InlineData("x86_64")]
    [InlineData("arm64")]
    public void Given_an_architecture_When_expanded_Then_the_function_runs_the_custom_runtime_on_it_with_the_model_layer(string architecture)
    {
        ExpandedTemplate t = ExpandedTemplate.For($"Architecture={architecture}");

        (string _, JsonObject function) = t.Single("AWS::Lambda::Function");
        JsonObject p = (JsonObject)function["Properties"]!;
        Assert.Equal([architecture], p["Architectures"]!.AsArray().Select(a => (string)a!));
        Assert.Equal("provided.al2023", (string?)p["Runtime"]);
        Assert.Equal("bootstrap", (string?)p["Handler"]);
        string layerId = (string)Assert.Single(p["Layers"]!.AsArray())!["Ref"]!;
        JsonObject layer = t.Properties(layerId);
        Assert.Equal("AWS::Lambda::LayerVersion", (string?)t.Resources[layerId]["Type"]);
        Assert.Contains(architecture, layer["CompatibleArchitectures"]!.AsArray().Select(a => (string)a!));
        Assert.Contains("provided.al2023", layer["CompatibleRuntimes"]!.AsArray().Select(a => (string)a!));
        Assert.Equal(2048L, (long)p["MemorySize"]!);
        Assert.Equal(100L, (long)p["ReservedConcurrentExecutions"]!);
    }

    [SamTranslatorFact]
    public void Given_the_allowed_architectures_When_listed_Then_they_are_exactly_x86_64_and_arm64()
    {
        Assert.Equal(["x86_64", "arm64"], ExpandedTemplate.For().AllowedValues("Architecture"));
    }

    [SamTranslatorFact]
    public void Given_every_allowed_function_timeout_When_expanded_Then_the_jobs_queue_visibility_is_at_least_six_times_it()
    {
        IReadOnlyList<string> allowed = ExpandedTemplate.For().AllowedValues("FunctionTimeoutSeconds");

        Assert.NotEmpty(allowed);
        foreach (string value in allowed)
        {
            ExpandedTemplate t = ExpandedTemplate.For($"FunctionTimeoutSeconds={value}");
            long timeout = (long)t.Single("AWS::Lambda::Function").Value["Properties"]!["Timeout"]!;
            JsonNode? visibility = t.Properties("JobsQueue")["VisibilityTimeout"];

            Assert.Equal(long.Parse(value, CultureInfo.InvariantCulture), timeout);
            Assert.True(visibility is JsonValue, $"VisibilityTimeout for timeout {value} did not resolve: {visibility?.ToJsonString()}");
            Assert.True((long)visibility! >= ResourceList.VisibilityTimeoutMultiplier * timeout, $"timeout {timeout}: visibility {visibility} < 6 x timeout");
            Assert.True((long)visibility! <= ResourceList.MaxVisibilityTimeoutSeconds, $"timeout {timeout}: visibility {visibility} is above SQS's 12 hours");
        }
    }

    [SamTranslatorFact]
    public void Given_the_jobs_queue_When_expanded_Then_it_redrives_to_the_dead_letter_queue_after_5_receives()
    {
        JsonObject redrive = (JsonObject)ExpandedTemplate.For().Properties("JobsQueue")["RedrivePolicy"]!;

        Assert.Equal(5L, (long)redrive["maxReceiveCount"]!);
        Assert.Equal(ResourceList.MaxReceiveCount, (long)redrive["maxReceiveCount"]!);
        Assert.Equal("""{"Fn::GetAtt":["JobsDeadLetterQueue","Arn"]}""", redrive["deadLetterTargetArn"]!.ToJsonString());
    }

    [SamTranslatorFact]
    public void Given_the_sqs_event_When_expanded_Then_its_mapping_invokes_the_live_alias_with_the_pipelines_settings()
    {
        JsonObject p = Mapping("JobsQueue");

        Assert.Equal("""{"Fn::GetAtt":["JobsQueue","Arn"]}""", p["EventSourceArn"]!.ToJsonString());
        Assert.Equal("""{"Ref":"BgpipeFunctionAliaslive"}""", p["FunctionName"]!.ToJsonString());
        Assert.Equal(10L, (long)p["BatchSize"]!);
        Assert.Equal(0L, (long)p["MaximumBatchingWindowInSeconds"]!);
        Assert.Equal(["ReportBatchItemFailures"], p["FunctionResponseTypes"]!.AsArray().Select(a => (string)a!));
        Assert.Equal(50L, (long)p["ScalingConfig"]!["MaximumConcurrency"]!);
        Assert.Equal(2, p["FilterCriteria"]!["Filters"]!.AsArray().Count);
        Assert.Null(p["StartingPosition"]);
    }

    [SamTranslatorFact]
    public void Given_the_kinesis_event_When_expanded_Then_its_mapping_has_the_retry_bisect_age_and_on_failure_settings()
    {
        JsonObject p = Mapping("JobsStream");

        Assert.Equal("""{"Fn::GetAtt":["JobsStream","Arn"]}""", p["EventSourceArn"]!.ToJsonString());
        Assert.Equal("""{"Ref":"BgpipeFunctionAliaslive"}""", p["FunctionName"]!.ToJsonString());
        Assert.Equal("TRIM_HORIZON", (string?)p["StartingPosition"]);
        Assert.Equal(100L, (long)p["BatchSize"]!);
        Assert.Equal(1L, (long)p["MaximumBatchingWindowInSeconds"]!);
        Assert.Equal(2L, (long)p["ParallelizationFactor"]!);
        Assert.True((bool)p["BisectBatchOnFunctionError"]!);
        Assert.Equal(5L, (long)p["MaximumRetryAttempts"]!);
        Assert.Equal(3600L, (long)p["MaximumRecordAgeInSeconds"]!);
        Assert.Equal("""{"Fn::GetAtt":["JobsStreamFailuresQueue","Arn"]}""", p["DestinationConfig"]!["OnFailure"]!["Destination"]!.ToJsonString());
        Assert.Equal(["ReportBatchItemFailures"], p["FunctionResponseTypes"]!.AsArray().Select(a => (string)a!));
        Assert.Null(p["ScalingConfig"]);
    }

    [SamTranslatorFact]
    public void Given_the_function_When_expanded_Then_its_environment_names_the_layer_model_the_table_and_both_buckets()
    {
        JsonObject variables = (JsonObject)ExpandedTemplate.For().Single("AWS::Lambda::Function").Value["Properties"]!["Environment"]!["Variables"]!;

        Assert.Equal("/opt/models/u2netp.onnx", (string?)variables["BGPIPE_MODEL_PATH"]);
        Assert.Equal("""{"Ref":"IdempotencyTable"}""", variables["BGPIPE_IDEMPOTENCY_TABLE"]!.ToJsonString());
        Assert.Equal("""{"Fn::Sub":"${InputBucket},${OutputBucket}"}""", variables["BGPIPE_BUCKETS"]!.ToJsonString());
        Assert.Equal("cutouts/", (string?)variables["BGPIPE_OUTPUT_PREFIX"]);
    }

    [SamTranslatorTheory]
    [InlineData("Canary10Percent5Minutes")]
    [InlineData("Linear10PercentEvery1Minute")]
    public void Given_a_deployment_preference_When_expanded_Then_CodeDeploy_shifts_the_live_alias_that_way(string preference)
    {
        ExpandedTemplate t = ExpandedTemplate.For($"DeploymentPreferenceType={preference}");

        (string _, JsonObject alias) = t.Single("AWS::Lambda::Alias");
        Assert.Equal("live", (string?)alias["Properties"]!["Name"]);
        Assert.NotNull(alias["UpdatePolicy"]?["CodeDeployLambdaAliasUpdate"]);
        (string _, JsonObject group) = t.Single("AWS::CodeDeploy::DeploymentGroup");
        Assert.Contains($"\"{preference}\"", group["Properties"]!["DeploymentConfigName"]!.ToJsonString(), StringComparison.Ordinal);
    }

    [SamTranslatorFact]
    public void Given_every_IAM_statement_When_read_Then_no_action_is_a_wildcard_and_no_data_resource_is_unscoped()
    {
        ExpandedTemplate t = ExpandedTemplate.For();
        var statements = new List<(string Where, JsonObject Statement)>();
        foreach ((string id, JsonObject resource) in t.OfType("AWS::IAM::Role").Concat(t.OfType("AWS::IAM::Policy")))
        {
            JsonObject p = (JsonObject)resource["Properties"]!;
            foreach (JsonNode? policy in p["Policies"]?.AsArray() ?? [])
            {
                statements.AddRange(policy!["PolicyDocument"]!["Statement"]!.AsArray().Select(s => ($"{id}/{(string?)policy["PolicyName"]}", (JsonObject)s!)));
            }

            if (p["PolicyDocument"] is { } document)
            {
                statements.AddRange(document["Statement"]!.AsArray().Select(s => (id, (JsonObject)s!)));
            }

            foreach (JsonNode? arn in p["ManagedPolicyArns"]?.AsArray() ?? [])
            {
                string text = arn!.ToJsonString();
                Assert.True(AllowedManagedPolicies.Any(a => text.Contains($"/{a}", StringComparison.Ordinal)), $"{id} attaches {text}, which is not one of {string.Join(", ", AllowedManagedPolicies)}");
            }
        }

        Assert.NotEmpty(statements);
        string[] ownResources = [.. t.Resources.Keys];
        foreach ((string where, JsonObject s) in statements.Where(s => (string?)s.Statement["Effect"] == "Allow"))
        {
            string[] actions = s["Action"] is JsonArray many ? [.. many.Select(a => (string)a!)] : [(string)s["Action"]!];
            string resource = s["Resource"]?.ToJsonString() ?? "\"*\"";
            foreach (string action in actions)
            {
                Assert.False(action == "*" || action.EndsWith(":*", StringComparison.Ordinal), $"{where}: action {action} is a wildcard");
            }

            var data = actions.Where(a => DataServices.Contains(a.Split(':')[0])).ToList();
            if (data.Count == 0 || data.SequenceEqual(["kinesis:ListStreams"]))
            {
                // ListStreams names no stream (it lists them); Lambda's Kinesis mapping calls it.
                continue;
            }

            Assert.False(resource == "\"*\"", $"{where}: {string.Join(", ", data)} on Resource \"*\"");
            Assert.True(ownResources.Any(id => resource.Contains($"\"{id}\"", StringComparison.Ordinal) || resource.Contains("${" + id, StringComparison.Ordinal)),
                $"{where}: {string.Join(", ", data)} on {resource}, which names none of this stack's resources");
        }
    }

    [SamTranslatorFact]
    public void Given_the_allowed_buckets_When_the_role_is_read_Then_each_may_be_read_and_written_and_only_write_probes_deleted()
    {
        ExpandedTemplate t = ExpandedTemplate.For();
        var statements = t.Properties("BgpipeFunctionRole")["Policies"]!.AsArray()
            .SelectMany(p => p!["PolicyDocument"]!["Statement"]!.AsArray())
            .Select(s => (Actions: s!["Action"]!.AsArray().Select(a => (string)a!).ToList(), Resource: s["Resource"]!.ToJsonString()))
            .ToList();
        string probes = new S3ObjectStoreOptions { AllowedBuckets = ["bgpipe-any"] }.ProbePrefix;

        foreach (string bucket in new[] { "InputBucket", "OutputBucket" })
        {
            // Both are in BGPIPE_BUCKETS, the function's allow-list of sources and destinations.
            Assert.Contains("${" + bucket + "}", t.Single("AWS::Lambda::Function").Value["Properties"]!["Environment"]!["Variables"]!["BGPIPE_BUCKETS"]!.ToJsonString(), StringComparison.Ordinal);
            foreach (string action in new[] { "s3:GetObject", "s3:PutObject" })
            {
                Assert.Contains(statements, s => s.Actions.Contains(action) && s.Resource.Contains("${" + bucket + ".Arn}/*", StringComparison.Ordinal));
            }

            Assert.Contains(statements, s => s.Actions.Contains("s3:ListBucket") && s.Resource.Contains($"[\"{bucket}\",\"Arn\"]", StringComparison.Ordinal));
            Assert.Contains(statements, s => s.Actions.Contains("s3:DeleteObject") && s.Resource.Contains("${" + bucket + ".Arn}/" + probes + "*", StringComparison.Ordinal));
        }

        // DeleteObject reaches nothing but the probe objects.
        Assert.All(statements.Where(s => s.Actions.Contains("s3:DeleteObject")), s =>
            Assert.DoesNotMatch(@"\.Arn\}/\*", s.Resource));
    }

    [SamTranslatorFact]
    public void Given_every_data_resource_When_expanded_Then_it_is_encrypted_at_rest_and_buckets_block_public_access()
    {
        ExpandedTemplate t = ExpandedTemplate.For();

        Assert.All(t.OfType("AWS::SQS::Queue"), q => Assert.True(
            (bool?)q.Value["Properties"]!["SqsManagedSseEnabled"] == true || q.Value["Properties"]!["KmsMasterKeyId"] is not null, $"{q.Key} is not encrypted"));
        Assert.All(t.OfType("AWS::DynamoDB::Table"), d => Assert.True((bool?)d.Value["Properties"]!["SSESpecification"]?["SSEEnabled"] == true, $"{d.Key} is not encrypted"));
        Assert.All(t.OfType("AWS::Kinesis::Stream"), k =>
        {
            Assert.Equal("KMS", (string?)k.Value["Properties"]!["StreamEncryption"]?["EncryptionType"]);
            Assert.Equal("alias/aws/kinesis", (string?)k.Value["Properties"]!["StreamEncryption"]?["KeyId"]);
        });
        var buckets = t.OfType("AWS::S3::Bucket").ToList();
        Assert.Equal(["InputBucket", "OutputBucket"], buckets.Select(b => b.Key).Order(StringComparer.Ordinal));
        Assert.All(buckets, b =>
        {
            JsonObject p = (JsonObject)b.Value["Properties"]!;
            Assert.NotNull(p["BucketEncryption"]?["ServerSideEncryptionConfiguration"]?[0]?["ServerSideEncryptionByDefault"]?["SSEAlgorithm"]);
            JsonObject block = (JsonObject)p["PublicAccessBlockConfiguration"]!;
            Assert.All(["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"], k => Assert.True((bool?)block[k] == true, $"{b.Key}: {k} is not true"));
        });
    }

    [SamTranslatorFact]
    public void Given_the_kinesis_stream_When_a_shard_count_is_given_Then_the_stream_has_it()
    {
        Assert.Equal(4L, (long)ExpandedTemplate.For("ShardCount=4").Properties("JobsStream")["ShardCount"]!);
        Assert.Equal((long)ResourceList.DefaultStreamShards, (long)ExpandedTemplate.For().Properties("JobsStream")["ShardCount"]!);
    }

    [SamTranslatorFact]
    public void Given_a_broken_template_When_expanded_Then_the_script_fails_naming_the_problem()
    {
        string broken = Path.Combine(Directory.CreateTempSubdirectory("bgpipe-sam-").FullName, "template.yaml");
        File.WriteAllText(broken, File.ReadAllText(RepositoryRoot.Combine("template.yaml")).Replace("Type: Kinesis\n", "Type: Kinesiss\n", StringComparison.Ordinal));
        try
        {
            ToolResult r = ExpandedTemplate.RunScript(broken, []);

            Assert.Equal(4, r.ExitCode);
            Assert.Contains("Kinesiss", r.StdErr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(broken)!, recursive: true);
        }
    }

    private static JsonObject Mapping(string eventName)
    {
        ExpandedTemplate t = ExpandedTemplate.For();
        (string functionId, JsonObject _) = t.Single("AWS::Lambda::Function");
        string id = functionId + eventName;
        Assert.Equal("AWS::Lambda::EventSourceMapping", (string?)t.Resources[id]["Type"]);
        return t.Properties(id);
    }
}
