using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Aws.Tests.Kinesis.Client.Fakes;

namespace Pipeline.Aws.Tests.Kinesis.Client;

/// <summary>What goes on the wire and how answers are read, against a scripted handler (no server).</summary>
public sealed class KinesisClientWireTests
{
    private static readonly AwsEndpoint Local = AwsEndpoint.At(new Uri("http://127.0.0.1:4567"), "eu-west-1");

    [Fact]
    public async Task Given_a_request_When_sent_Then_it_is_a_signed_AWS_JSON_1_1_post_with_the_service_member_names()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
        using var handler = new ScriptedHandler(HttpStatusCode.OK, "{\"ShardIterator\":\"it-1\"}");
        using var client = new KinesisClient(Local, handler, time);

        var response = await client.GetShardIteratorAsync(new GetShardIteratorRequest
        {
            StreamName = "s",
            ShardId = "shardId-000000000001",
            ShardIteratorType = ShardIteratorType.AtTimestamp,
            Timestamp = new DateTimeOffset(2026, 1, 1, 0, 0, 0, 500, TimeSpan.Zero),
        });

        Assert.Equal("it-1", response.ShardIterator);
        var (request, body) = Assert.Single(handler.Sent);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("/", request.RequestUri!.AbsolutePath);
        Assert.Equal("application/x-amz-json-1.1", request.Content!.Headers.ContentType!.ToString());
        Assert.Equal("Kinesis_20131202.GetShardIterator", request.Headers.GetValues("X-Amz-Target").Single());
        Assert.Equal("20260102T030405Z", request.Headers.GetValues("X-Amz-Date").Single());

        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        Assert.Equal("AT_TIMESTAMP", root.GetProperty("ShardIteratorType").GetString());
        Assert.Equal(1767225600.5m, root.GetProperty("Timestamp").GetDecimal());
        Assert.False(root.TryGetProperty("StartingSequenceNumber", out _), "null members must be left out");

        var expected = SigV4Signer.Authorization(
            "POST",
            new Uri("http://127.0.0.1:4567/"),
            new Dictionary<string, string>
            {
                ["content-type"] = "application/x-amz-json-1.1",
                ["host"] = "127.0.0.1:4567",
                ["x-amz-date"] = "20260102T030405Z",
                ["x-amz-target"] = "Kinesis_20131202.GetShardIterator",
            },
            body, "test", "test", "eu-west-1", "kinesis", time.GetUtcNow());
        var authorization = request.Headers.GetValues("Authorization").Single();
        Assert.Equal(expected, authorization);
        Assert.Contains("/eu-west-1/kinesis/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target,", authorization, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_a_GetRecords_answer_When_read_Then_data_is_decoded_and_epoch_timestamps_become_instants()
    {
        var data = Convert.ToBase64String("hello"u8);
        var answer = $$$"""
            {"Records":[{"SequenceNumber":"49","ApproximateArrivalTimestamp":1767225600.25,"Data":"{{{data}}}","PartitionKey":"pk"}],
             "NextShardIterator":"it-2","MillisBehindLatest":12,
             "ChildShards":[{"ShardId":"shardId-000000000004","ParentShards":["shardId-000000000000"],"HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"9"}}]}
            """;
        using var handler = new ScriptedHandler(HttpStatusCode.OK, answer);
        using var client = new KinesisClient(Local, handler);

        var response = await client.GetRecordsAsync(new GetRecordsRequest { ShardIterator = "it-1" });

        var record = Assert.Single(response.Records);
        Assert.Equal("hello", Encoding.UTF8.GetString(record.Data.Span));
        Assert.Equal("pk", record.PartitionKey);
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, 250, TimeSpan.Zero), record.ApproximateArrivalTimestamp);
        Assert.Equal("it-2", response.NextShardIterator);
        Assert.Equal(12, response.MillisBehindLatest);
        Assert.Equal("shardId-000000000000", Assert.Single(Assert.Single(response.ChildShards!).ParentShards));
    }

    [Theory]
    [InlineData(400, "ProvisionedThroughputExceededException", typeof(KinesisThroughputExceededException))]
    [InlineData(400, "com.amazonaws.kinesis.v20131202#ExpiredIteratorException", typeof(KinesisExpiredIteratorException))]
    [InlineData(400, "ResourceNotFoundException", typeof(KinesisResourceNotFoundException))]
    [InlineData(400, "ResourceInUseException", typeof(KinesisResourceInUseException))]
    [InlineData(400, "InvalidArgumentException", typeof(KinesisInvalidArgumentException))]
    [InlineData(400, "LimitExceededException", typeof(KinesisLimitExceededException))]
    [InlineData(400, "KMSThrottlingException", typeof(KinesisServiceException))]
    [InlineData(500, "InternalFailure", typeof(KinesisTransientException))]
    public async Task Given_an_error_answer_When_read_Then_its_type_picks_the_exception(int status, string type, Type expected)
    {
        using var handler = new ScriptedHandler((HttpStatusCode)status, $"{{\"__type\":\"{type}\",\"message\":\"why\"}}");
        using var client = new KinesisClient(Local, handler);

        var error = await Assert.ThrowsAnyAsync<KinesisServiceException>(() => client.DescribeStreamSummaryAsync(new DescribeStreamSummaryRequest { StreamName = "s" }));

        Assert.IsType(expected, error);
        Assert.Equal((HttpStatusCode)status, error.StatusCode);
        Assert.Equal(type[(type.LastIndexOf('#') + 1)..], error.ErrorType);
        Assert.Contains("DescribeStreamSummary", error.Message, StringComparison.Ordinal);
        Assert.Contains("why", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_a_500_that_is_not_JSON_When_read_Then_it_is_transient_and_quotes_the_body()
    {
        using var handler = new ScriptedHandler(HttpStatusCode.InternalServerError, "<html>Internal Server Error</html>", "text/html");
        using var client = new KinesisClient(Local, handler);

        var error = await Assert.ThrowsAsync<KinesisTransientException>(() => client.GetRecordsAsync(new GetRecordsRequest { ShardIterator = "bad" }));

        Assert.Contains("Internal Server Error", error.Message, StringComparison.Ordinal);
        Assert.Equal(string.Empty, error.ErrorType);
    }

    [Fact]
    public async Task Given_bad_requests_When_sent_Then_they_are_refused_before_the_wire_naming_the_problem()
    {
        using var handler = new ScriptedHandler(HttpStatusCode.OK, "{}");
        using var client = new KinesisClient(Local, handler);

        var neither = await Assert.ThrowsAsync<ArgumentException>(() => client.ListShardsAsync(new ListShardsRequest { MaxResults = 2 }));
        var noSequence = await Assert.ThrowsAsync<ArgumentException>(() => client.GetShardIteratorAsync(new GetShardIteratorRequest
        {
            StreamName = "s", ShardId = "x", ShardIteratorType = ShardIteratorType.AfterSequenceNumber,
        }));
        var empty = await Assert.ThrowsAsync<ArgumentException>(() => client.PutRecordsAsync(new PutRecordsRequest { StreamName = "s", Records = [] }));

        Assert.Contains("NextToken", neither.Message, StringComparison.Ordinal);
        Assert.Contains("StartingSequenceNumber", noSequence.Message, StringComparison.Ordinal);
        Assert.Contains("1 to 500", empty.Message, StringComparison.Ordinal);
        Assert.Empty(handler.Sent);
    }

    [Fact]
    public async Task Given_two_pages_of_shards_When_all_are_listed_Then_the_second_request_carries_the_token_alone()
    {
        const string Range = "\"HashKeyRange\":{\"StartingHashKey\":\"0\",\"EndingHashKey\":\"1\"},\"SequenceNumberRange\":{\"StartingSequenceNumber\":\"1\"}";
        using var handler = new ScriptedHandler(
            HttpStatusCode.OK,
            new[]
            {
                $"{{\"Shards\":[{{\"ShardId\":\"shardId-000000000000\",{Range}}}],\"NextToken\":\"page-2\"}}",
                $"{{\"Shards\":[{{\"ShardId\":\"shardId-000000000001\",{Range}}}]}}",
            });
        using var client = new KinesisClient(Local, handler);

        var shards = await client.ListAllShardsAsync("s");

        Assert.Equal(["shardId-000000000000", "shardId-000000000001"], shards.Select(s => s.ShardId));
        Assert.Equal(2, handler.Sent.Count);
        using var first = JsonDocument.Parse(handler.Sent[0].Body);
        using var second = JsonDocument.Parse(handler.Sent[1].Body);
        Assert.Equal("s", first.RootElement.GetProperty("StreamName").GetString());
        Assert.Equal("page-2", second.RootElement.GetProperty("NextToken").GetString());
        Assert.False(second.RootElement.TryGetProperty("StreamName", out _), "AWS refuses StreamName together with NextToken");
    }
}
