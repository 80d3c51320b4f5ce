using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;
using Pipeline.Aws;
using Pipeline.Aws.Sqs;
using Pipeline.Client.Jobs;
using Pipeline.Testing.Emulators;

namespace Pipeline.Benchmarks.Client;

/// <summary>
/// <c>client-throughput [jobs=5000] [rounds=5] [concurrency=4]</c>: on fauxqs (started here on 127.0.0.1), enqueues N
/// jobs with the client SDK (<see cref="SqsJobsClient.EnqueueManyAsync"/>: each job validated by the pipeline's
/// decoder, SendMessageBatch in tens, <c>concurrency</c> requests in flight, failed entries retried) and with the plain
/// AWSSDK.SQS code an application would write instead (serialize each job with System.Text.Json, SendMessageBatch in
/// tens with Parallel.ForEachAsync at the same concurrency, throw if an entry failed). Same bodies byte for byte,
/// a fresh queue per leg, alternating which goes first each round; prints jobs/s of both, the ratio per round and
/// the medians (goal: SDK/bare >= 0.9).
/// </summary>
internal static class ClientThroughput
{
    private sealed record BareJob(string JobId, string Source);

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static async Task<int> RunAsync(string[] args)
    {
        var inv = CultureInfo.InvariantCulture;
        int jobs = args.Length > 0 ? int.Parse(args[0], inv) : 5_000;
        int rounds = args.Length > 1 ? int.Parse(args[1], inv) : 5;
        int concurrency = args.Length > 2 ? int.Parse(args[2], inv) : new SqsSenderOptions().MaxConcurrentRequests;

        await using EmulatorProcess fauxqs = await EmulatorProcess.StartAsync(EmulatorKind.Fauxqs);
        using IAmazonSQS sqs = AwsEndpoint.At(fauxqs.Endpoint).CreateSqs();
        Console.WriteLine(string.Create(inv, $"fauxqs at {fauxqs.Endpoint}; {jobs:N0} jobs per leg, {rounds} rounds, {concurrency} requests in flight, {Environment.ProcessorCount} cores"));

        string sample = new JobRequest { Source = "s3://in/r0/0.jpg" }.ToBody("j-0");
        string bareSample = JsonSerializer.Serialize(new BareJob("j-0", "s3://in/r0/0.jpg"), Json);
        if (sample != bareSample)
        {
            Console.Error.WriteLine($"bodies differ: SDK {sample}, bare {bareSample}");
            return 2;
        }

        // Untimed legs warm up the JIT, the connections and fauxqs.
        await LegAsync(sqs, jobs, concurrency, sdk: true, "warm-sdk");
        await LegAsync(sqs, jobs, concurrency, sdk: false, "warm-bare");

        var sdkRates = new List<double>();
        var bareRates = new List<double>();
        var ratios = new List<double>();
        for (int round = 1; round <= rounds; round++)
        {
            bool sdkFirst = round % 2 == 0;
            double sdkRate = 0, bareRate = 0;
            for (int leg = 0; leg < 2; leg++)
            {
                bool isSdk = sdkFirst == (leg == 0);
                TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                TimeSpan elapsed = await LegAsync(sqs, jobs, concurrency, isSdk, $"r{round}");
                double cpuUs = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds / jobs;
                double rate = jobs / elapsed.TotalSeconds;
                if (isSdk)
                {
                    sdkRate = rate;
                }
                else
                {
                    bareRate = rate;
                }

                Console.WriteLine(string.Create(inv, $"  round {round} {(isSdk ? "SDK " : "bare")} {rate,9:N0} jobs/s ({elapsed.TotalSeconds:0.000} s, client CPU {cpuUs:0.0} us/job incl. queue create/delete)"));
            }

            sdkRates.Add(sdkRate);
            bareRates.Add(bareRate);
            ratios.Add(sdkRate / bareRate);
            Console.WriteLine(string.Create(inv, $"  round {round} SDK/bare {sdkRate / bareRate:0.000}"));
        }

        Console.WriteLine(string.Create(inv, $"median jobs/s: SDK {Median(sdkRates):N0}, bare {Median(bareRates):N0}; median of per-round SDK/bare ratios {Median(ratios):0.000} (goal >= 0.9)"));
        return 0;
    }

    private static async Task<TimeSpan> LegAsync(IAmazonSQS sqs, int jobs, int concurrency, bool sdk, string tag)
    {
        string url = (await sqs.CreateQueueAsync($"client-{(sdk ? "sdk" : "bare")}-{tag}-{Guid.NewGuid():N}")).QueueUrl;
        try
        {
            // The SDK reads the queue's attributes once when it is made; that is outside the timed part, like the
            // bare leg's queue URL.
            SqsJobsClient? client = sdk ? await SqsJobsClient.CreateAsync(sqs, url, new SqsSenderOptions { MaxConcurrentRequests = concurrency }) : null;
            long start = Stopwatch.GetTimestamp();
            if (client is not null)
            {
                var requests = new JobRequest[jobs];
                for (int i = 0; i < jobs; i++)
                {
                    requests[i] = new JobRequest { Source = $"s3://in/{tag}/{i}.jpg", JobId = $"{tag}-{i}" };
                }

                await client.EnqueueManyAsync(requests);
            }
            else
            {
                await BareAsync(sqs, url, jobs, concurrency, tag);
            }

            return Stopwatch.GetElapsedTime(start);
        }
        finally
        {
            await sqs.DeleteQueueAsync(url);
        }
    }

    /// <summary>The plain-SDK equivalent: serialize, SendMessageBatch in tens, <paramref name="concurrency"/> at once.</summary>
    private static async Task BareAsync(IAmazonSQS sqs, string url, int jobs, int concurrency, string tag)
    {
        var bodies = new string[jobs];
        for (int i = 0; i < jobs; i++)
        {
            bodies[i] = JsonSerializer.Serialize(new BareJob($"{tag}-{i}", $"s3://in/{tag}/{i}.jpg"), Json);
        }

        await Parallel.ForEachAsync(
            bodies.Chunk(10),
            new ParallelOptions { MaxDegreeOfParallelism = concurrency },
            async (chunk, ct) =>
            {
                var request = new SendMessageBatchRequest
                {
                    QueueUrl = url,
                    Entries = [.. chunk.Select((body, i) => new SendMessageBatchRequestEntry(i.ToString(CultureInfo.InvariantCulture), body))],
                };
                SendMessageBatchResponse response = await sqs.SendMessageBatchAsync(request, ct);
                if (response.Failed is { Count: > 0 } failed)
                {
                    throw new InvalidOperationException($"{failed.Count} entries failed: {failed[0].Code} {failed[0].Message}");
                }
            });
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
