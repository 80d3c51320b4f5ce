using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Aws.DynamoDb;
using Pipeline.BackgroundRemoval.Model;
using Pipeline.Core.Records;
using Pipeline.Lambda.Events;
using Pipeline.Lambda.Tests.Fakes;
using Pipeline.Testing;
using Pipeline.Testing.Emulators;
using SkiaSharp;

namespace Pipeline.Lambda.Tests.Hosting;

/// <summary>
/// The published <c>bootstrap</c> as a process, as Lambda runs it: the Runtime API is this test's server, the model
/// sits in a fake layer folder, S3 and DynamoDB are moto_server. Every file in events/ goes in; each response must be
/// the one events/README.md documents.
/// </summary>
[Collection(LambdaCollections.Bootstrap)]
public sealed class BootstrapProcessTests(PublishedBootstrapFixture published, MotoFixture moto) : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("bgpipe-lambda-test-").FullName;

    /// <summary>Indexes of the records each event file must report, as events/README.md says.</summary>
    private static readonly Dictionary<string, int[]> ExpectedFailures = new(StringComparer.Ordinal)
    {
        ["sqs-normal-batch.json"] = [],
        ["sqs-duplicate-job.json"] = [],
        ["sqs-poison-message.json"] = [0, 1],
        ["sqs-mixed-batch.json"] = [1, 3],
        ["sqs-masstransit-envelope.json"] = [],
        ["kinesis-normal-batch.json"] = [],
        ["kinesis-duplicate-job.json"] = [],
        ["kinesis-poison-record.json"] = [1],
        ["kinesis-mixed-batch.json"] = [1, 2],
    };

    public void Dispose()
    {
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [EmulatorFact(EmulatorKind.Moto)]
    public async Task GivenEveryEventFile_WhenFedToThePublishedBootstrap_ThenEachResponseIsTheDocumentedOne()
    {
        string[] files = [.. Directory.GetFiles(RepositoryRoot.Combine("events"), "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Assert.Equal(ExpectedFailures.Keys.Order(StringComparer.Ordinal), files);
        string table = $"bgpipe-idem-{Guid.NewGuid():N}";
        using IAmazonS3 s3 = moto.Endpoint.CreateS3();
        using IAmazonDynamoDB dynamo = moto.Endpoint.CreateDynamoDb();
        await IdempotencyTableSchema.EnsureTableAsync(dynamo, table, NullLogger.Instance, TimeProvider.System, CancellationToken.None);
        await UploadSourcesAsync(s3, files);

        await using var api = FakeRuntimeApi.Start();
        using Process function = StartBootstrap(api, table, ModelLayer());
        try
        {
            foreach (string file in files.Append("sqs-normal-batch.json"))
            {
                byte[] payload = File.ReadAllBytes(RepositoryRoot.Combine("events", file));
                RuntimePost post = await api.Invoke(payload, DateTimeOffset.UtcNow.AddSeconds(60)).WaitAsync(TimeSpan.FromSeconds(90));

                Assert.True(post.Kind == "response", $"{file}: expected a response, got {post.Kind} {post.Body}\n{Output(function)}");
                Assert.Equal(ExpectedIds(file, payload), FailedIds(post.Body));
            }

            foreach (string key in new[] { "cutouts/astronaut.png", "cutouts/chelsea.png", "cutouts/dog.png", "cutouts/cat.png", "cutouts/masstransit-cat.png", "masks/bird.png", "stream/astronaut.png", "stream/chelsea.png", "stream/dog.png", "stream/cat.png", "stream/bird.png" })
            {
                using GetObjectResponse result = await s3.GetObjectAsync("bgpipe-output", key);
                var head = new byte[8];
                await result.ResponseStream.ReadExactlyAsync(head);
                Assert.Equal(Images.PngSignature, head);
            }

            // Kinesis stopped at the corrupt record, so the record after it was never run.
            await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.GetObjectMetadataAsync("bgpipe-output", "stream/chelsea-2.png"));

            // Deadline: new jobs arriving with 1 s left (below the 2 s margin) are not started; every one is reported.
            byte[] late = System.Text.Encoding.UTF8.GetBytes(System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(RepositoryRoot.Combine("events", "sqs-normal-batch.json"))).Replace("photo-000", "late-photo-000", StringComparison.Ordinal));
            RuntimePost rushed = await api.Invoke(late, DateTimeOffset.UtcNow.AddSeconds(1)).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(rushed.Kind == "response", $"deadline: expected a response, got {rushed.Kind} {rushed.Body}");
            Assert.Equal(JsonSerializer.Deserialize(late, LambdaJsonContext.Default.SqsEvent)!.Records.Select(r => r.MessageId!), FailedIds(rushed.Body));
            Assert.False(function.HasExited, $"bootstrap exited:\n{Output(function)}");
        }
        finally
        {
            Stop(function);
        }
    }

    [Fact]
    public async Task GivenNoModelLayer_WhenThePublishedBootstrapStarts_ThenInitErrorNamesTheLayerAndTheProcessExitsNonZeroFast()
    {
        await using var api = FakeRuntimeApi.Start();
        string missing = Path.Combine(_work, "opt", "models", "u2netp.onnx");
        var clock = Stopwatch.StartNew();
        using Process function = StartBootstrap(api, "bgpipe-idempotency", missing);
        try
        {
            RuntimePost error = await api.InitError.WaitAsync(TimeSpan.FromSeconds(10));
            await function.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));

            using JsonDocument body = JsonDocument.Parse(error.Body);
            Assert.StartsWith($"model not found at {missing}: deploy the ModelLayer", body.RootElement.GetProperty("errorMessage").GetString(), StringComparison.Ordinal);
            Assert.Equal("ModelNotFoundException", error.ErrorType);
            Assert.NotEqual(0, function.ExitCode);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"init failure took {clock.Elapsed}");
            Assert.Equal(0, api.NextCalls);
        }
        finally
        {
            Stop(function);
        }
    }

    [Fact]
    public void GivenThePublishedFunction_WhenItsFilesAreListed_ThenNoModelIsBundledBecauseTheLayerShipsIt()
    {
        Assert.True(File.Exists(published.Bootstrap));
        Assert.Empty(Directory.GetFiles(published.Directory, "*.onnx", SearchOption.AllDirectories));
        Assert.NotEmpty(Directory.GetFiles(published.Directory, "libonnxruntime*", SearchOption.AllDirectories));
        Assert.NotEmpty(Directory.GetFiles(published.Directory, "libSkiaSharp*", SearchOption.AllDirectories));
    }

    private string ModelLayer()
    {
        string model = ModelLocator.DefaultCandidates().FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"the U²-Net-p model is needed for this test; {ModelLocator.HowToInstall}");
        string layer = Path.Combine(_work, "opt", "models", "u2netp.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(layer)!);
        File.Copy(model, layer);
        return layer;
    }

    private Process StartBootstrap(FakeRuntimeApi api, string table, string modelPath)
    {
        var start = new ProcessStartInfo(published.Bootstrap)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _work,
        };
        start.Environment["AWS_LAMBDA_RUNTIME_API"] = api.Host;
        start.Environment["BGPIPE_MODEL_PATH"] = modelPath;
        start.Environment["BGPIPE_IDEMPOTENCY_TABLE"] = table;
        start.Environment["BGPIPE_BUCKETS"] = "bgpipe-input,bgpipe-output";
        start.Environment["AWS_ENDPOINT_URL"] = moto.UnavailableReason is null ? moto.Endpoint.ServiceUrl!.ToString() : "http://127.0.0.1:1";
        start.Environment["AWS_ACCESS_KEY_ID"] = "test";
        start.Environment["AWS_SECRET_ACCESS_KEY"] = "test";
        start.Environment["AWS_REGION"] = "us-east-1";
        var process = new Process { StartInfo = start };
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _outputs[process.Id] = output;
        return process;
    }

    private readonly Dictionary<int, StringBuilder> _outputs = [];

    private string Output(Process p)
    {
        StringBuilder b = _outputs[p.Id];
        lock (b)
        {
            return b.ToString();
        }
    }

    private static void Append(StringBuilder b, string? line)
    {
        if (line is not null)
        {
            lock (b)
            {
                b.AppendLine(line);
            }
        }
    }

    private static void Stop(Process p)
    {
        if (!p.HasExited)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(10_000);
        }
    }

    private static async Task UploadSourcesAsync(IAmazonS3 s3, IEnumerable<string> files)
    {
        foreach (string bucket in new[] { "bgpipe-input", "bgpipe-output" })
        {
            try
            {
                await s3.PutBucketAsync(bucket);
            }
            catch (AmazonS3Exception ex) when (ex.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
            {
            }
        }

        var keys = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string file in files)
        {
            foreach (byte[] body in Bodies(File.ReadAllBytes(RepositoryRoot.Combine("events", file))))
            {
                if (AutoJobDecoder.Instance.TryDecode(body, out Job? job, out _) && job!.Source.StartsWith("s3://bgpipe-input/", StringComparison.Ordinal))
                {
                    keys.Add(job.Source["s3://bgpipe-input/".Length..]);
                }
            }
        }

        int seed = 1;
        foreach (string key in keys)
        {
            if (key.Contains("missing", StringComparison.Ordinal))
            {
                continue;
            }

            byte[] content = key.Contains("corrupt", StringComparison.Ordinal)
                ? Encoding.ASCII.GetBytes("these bytes are no image at all, whatever the .jpg says")
                : Images.ShapeOnTexture(key.EndsWith(".png", StringComparison.Ordinal) ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg, seed: seed++);
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = "bgpipe-input", Key = key, InputStream = new MemoryStream(content) });
        }
    }

    private static IEnumerable<byte[]> Bodies(byte[] payload)
    {
        if (EventSources.Detect(payload) == EventSources.Sqs)
        {
            return JsonSerializer.Deserialize(payload, LambdaJsonContext.Default.SqsEvent)!.Records.Select(r => Encoding.UTF8.GetBytes(r.Body!));
        }

        return JsonSerializer.Deserialize(payload, LambdaJsonContext.Default.KinesisEvent)!.Records.Select(r => Convert.FromBase64String(r.Kinesis!.Data!));
    }

    private static string[] ExpectedIds(string file, byte[] payload)
    {
        string[] ids = EventSources.Detect(payload) == EventSources.Sqs
            ? [.. JsonSerializer.Deserialize(payload, LambdaJsonContext.Default.SqsEvent)!.Records.Select(r => r.MessageId!)]
            : [.. JsonSerializer.Deserialize(payload, LambdaJsonContext.Default.KinesisEvent)!.Records.Select(r => r.Kinesis!.SequenceNumber!)];
        return [.. ExpectedFailures[file].Select(i => ids[i])];
    }

    private static string[] FailedIds(string responseBody) =>
        [.. JsonSerializer.Deserialize(responseBody, LambdaJsonContext.Default.BatchItemFailuresResponse)!.BatchItemFailures.Select(f => f.ItemIdentifier)];
}
