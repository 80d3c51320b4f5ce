using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.S3;
using Amazon.S3.Model;
using Pipeline.Aws;
using Pipeline.Aws.DynamoDb;
using Pipeline.Testing;
using Pipeline.Testing.Emulators;
using Pipeline.Testing.Publishing;

namespace Pipeline.Benchmarks.Lambda;

/// <summary>
/// <c>lambda-cold-start [runs=5] [variants=r2r,jit,aot]</c>: publishes the Lambda bootstrap (src/Pipeline.Lambda) for
/// linux-x64 as ReadyToRun, plain JIT and Native AOT, and times each from process start to the first response on a
/// one-image SQS event, with the model in a layer folder and S3/DynamoDB on moto_server (127.0.0.1). Also reports the
/// package sizes per architecture (function and layer, zipped and unzipped) against Lambda's limits.
/// </summary>
internal static class ColdStartHarness
{
    private const long ZippedLimit = 50L * 1024 * 1024;
    private const long UnzippedLimit = 250L * 1024 * 1024;

    public static async Task<int> RunAsync(string[] args)
    {
        int runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
        string[] variants = args.Length > 1 ? args[1].Split(',') : ["r2r", "jit", "aot"];
        string work = Directory.CreateTempSubdirectory("bgpipe-coldstart-").FullName;
        string model = Path.Combine(AppContext.BaseDirectory, "models", "u2netp.onnx");
        if (!File.Exists(model))
        {
            Console.Error.WriteLine($"the model is not at {model}; build the solution first");
            return 1;
        }

        string layer = Path.Combine(work, "layer");
        Directory.CreateDirectory(Path.Combine(layer, "models"));
        File.Copy(model, Path.Combine(layer, "models", "u2netp.onnx"));

        await using EmulatorProcess moto = await EmulatorProcess.StartAsync(EmulatorKind.Moto);
        AwsEndpoint endpoint = AwsEndpoint.At(moto.Endpoint);
        using IAmazonS3 s3 = endpoint.CreateS3();
        using IAmazonDynamoDB dynamo = endpoint.CreateDynamoDb();
        await s3.PutBucketAsync("coldstart-in");
        await s3.PutBucketAsync("coldstart-out");
        string photo = Directory.EnumerateFiles(RepositoryRoot.Combine("..", "shared", "data", "photos")).Order(StringComparer.Ordinal).First();
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "coldstart-in", Key = "in/photo.jpg", FilePath = photo });
        await IdempotencyTableSchema.EnsureTableAsync(dynamo, "coldstart-idempotency", Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TimeProvider.System, CancellationToken.None);

        Console.WriteLine($"Cold start: process start -> first response, one-image SQS event ({Path.GetFileName(photo)}), model in a layer folder, {Environment.ProcessorCount} cores, {runs} runs per variant");
        var results = new List<(string Variant, double Median, double Min, long Bytes)>();
        foreach (string variant in variants)
        {
            string output = Path.Combine(work, variant);
            string? publishError = await PublishAsync("linux-x64", variant, output);
            if (publishError is not null)
            {
                Console.WriteLine($"  {variant,-4} publish failed: {publishError}");
                continue;
            }

            var times = new List<double>();
            for (int run = 0; run < runs; run++)
            {
                double? ms = await TimeFirstResponseAsync(Path.Combine(output, "bootstrap"), layer, endpoint, run, variant);
                if (ms is null)
                {
                    break;
                }

                times.Add(ms.Value);
            }

            if (times.Count == 0)
            {
                continue;
            }

            times.Sort();
            List<double> inits = [.. InitDone.Order()];
            InitDone.Clear();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {variant,-4} init (process start -> first GET next): median {inits[inits.Count / 2]:0} ms"));
            long bytes = DirectorySize(output);
            results.Add((variant, times[times.Count / 2], times[0], bytes));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {variant,-4} median {times[times.Count / 2]:0} ms, min {times[0]:0} ms, runs [{string.Join(", ", times.Select(t => t.ToString("0", CultureInfo.InvariantCulture)))}] ms; published {bytes / 1048576.0:0.0} MB"));
        }

        Console.WriteLine("Package sizes (Lambda limits: 50 MB zipped upload, 250 MB unzipped function + layers):");
        long layerZip = ZipSize(layer, work);
        long layerBytes = DirectorySize(layer);
        foreach (string rid in new[] { "linux-x64", "linux-arm64" })
        {
            string output = Path.Combine(work, "size-" + rid);
            string? error = await PublishAsync(rid, "r2r", output);
            if (error is not null)
            {
                Console.WriteLine($"  {rid}: publish failed: {error}");
                continue;
            }

            long unzipped = DirectorySize(output);
            long zipped = ZipSize(output, work);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {rid} function (ReadyToRun, self-contained): {zipped / 1048576.0:0.0} MB zipped, {unzipped / 1048576.0:0.0} MB unzipped; with the layer {(unzipped + layerBytes) / 1048576.0:0.0} MB of 250 MB; zipped {(zipped <= ZippedLimit ? "within" : "OVER")} 50 MB"));
            _ = UnzippedLimit;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  model layer (both architectures): {layerZip / 1048576.0:0.0} MB zipped, {layerBytes / 1048576.0:0.0} MB unzipped"));
        return 0;
    }

    private static async Task<string?> PublishAsync(string rid, string variant, string output)
    {
        string props = variant switch
        {
            "aot" => "-p:PublishAot=true -p:PublishReadyToRun=false -p:TreatWarningsAsErrors=false",
            "jit" => "-p:PublishReadyToRun=false",
            _ => "-p:PublishReadyToRun=true",
        };
        PublishResult publish = await LambdaPublish.RunAsync(rid, props, output);
        if (publish.Succeeded && File.Exists(Path.Combine(output, "bootstrap")))
        {
            return null;
        }

        string text = publish.Output;
        string[] errors = text.Split('\n').Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)).Take(3).ToArray();
        return errors.Length > 0 ? string.Join(" | ", errors).Trim() : $"exit {publish.ExitCode}";
    }

    /// <summary>Serves one SQS invocation on a Runtime API of its own and times process start to the response POST.</summary>
    private static async Task<double?> TimeFirstResponseAsync(string bootstrap, string layer, AwsEndpoint endpoint, int run, string variant)
    {
        int port = FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        string requestId = Guid.NewGuid().ToString();
        string body = $$"""{"jobId":"cold-{{variant}}-{{run}}-{{Guid.NewGuid():N}}","source":"s3://coldstart-in/in/photo.jpg","destination":"s3://coldstart-out/out/{{variant}}-{{run}}.png"}""";
        string escaped = body.Replace("\"", "\\\"", StringComparison.Ordinal);
        string sqsEvent = $$"""{"Records":[{"messageId":"{{Guid.NewGuid()}}","receiptHandle":"r","body":"{{escaped}}","attributes":{"ApproximateReceiveCount":"1","SentTimestamp":"1700000000000","SenderId":"s","ApproximateFirstReceiveTimestamp":"1700000000000"},"messageAttributes":{},"md5OfBody":"","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:jobs","awsRegion":"us-east-1"}]}""";

        var info = new ProcessStartInfo(bootstrap) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["AWS_LAMBDA_RUNTIME_API"] = $"127.0.0.1:{port}";
        info.Environment["BGPIPE_MODEL_PATH"] = Path.Combine(layer, "models", "u2netp.onnx");
        info.Environment["BGPIPE_IDEMPOTENCY_TABLE"] = "coldstart-idempotency";
        info.Environment["BGPIPE_BUCKETS"] = "coldstart-in,coldstart-out";
        info.Environment["AWS_ENDPOINT_URL"] = endpoint.ServiceUrl!.ToString();
        info.Environment["AWS_ACCESS_KEY_ID"] = "test";
        info.Environment["AWS_SECRET_ACCESS_KEY"] = "test";
        info.Environment["AWS_REGION"] = "us-east-1";
        var clock = Stopwatch.StartNew();
        using Process process = Process.Start(info)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => output.AppendLine(e.Data);
        process.ErrorDataReceived += (_, e) => output.AppendLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (true)
            {
                HttpListenerContext context = await listener.GetContextAsync().WaitAsync(timeout.Token);
                string path = context.Request.Url!.AbsolutePath;
                if (path.EndsWith("/invocation/next", StringComparison.Ordinal))
                {
                    InitDone.Add(clock.Elapsed.TotalMilliseconds);
                    context.Response.Headers["Lambda-Runtime-Aws-Request-Id"] = requestId;
                    context.Response.Headers["Lambda-Runtime-Deadline-Ms"] = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
                    context.Response.Headers["Lambda-Runtime-Invoked-Function-Arn"] = "arn:aws:lambda:us-east-1:123456789012:function:bgpipe";
                    byte[] bytes = Encoding.UTF8.GetBytes(sqsEvent);
                    await context.Response.OutputStream.WriteAsync(bytes);
                    context.Response.Close();
                    continue;
                }

                double elapsed = clock.Elapsed.TotalMilliseconds;
                using var reader = new StreamReader(context.Request.InputStream);
                string answer = await reader.ReadToEndAsync();
                context.Response.StatusCode = 202;
                context.Response.Close();
                if (!path.EndsWith("/response", StringComparison.Ordinal) || answer.Contains("itemIdentifier", StringComparison.Ordinal))
                {
                    Console.WriteLine($"  {variant}: run {run} answered {path}: {answer}; output: {output}");
                    return null;
                }

                return elapsed;
            }
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine($"  {variant}: run {run} gave no response within 60 s; output: {output}");
            return null;
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>When each run's bootstrap first asked for an invocation (its init time).</summary>
    private static readonly List<double> InitDone = [];

    private static int FreePort()
    {
        using var socket = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private static long DirectorySize(string path) =>
        new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

    private static long ZipSize(string folder, string work)
    {
        string zip = Path.Combine(work, Guid.NewGuid().ToString("N") + ".zip");
        ZipFile.CreateFromDirectory(folder, zip, CompressionLevel.Optimal, includeBaseDirectory: false);
        long size = new FileInfo(zip).Length;
        File.Delete(zip);
        return size;
    }
}
