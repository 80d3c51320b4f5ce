using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Aws.Kinesis.OnFailure;
using Pipeline.Core.Records;
using Pipeline.Core.Sources.Streams;

namespace Pipeline.Aws.Tests.Kinesis.OnFailure;

public sealed class KinesisFailureRecordTests
{
    internal const string StreamArn = "arn:aws:kinesis:us-east-2:123456789012:stream/mystream";
    internal const string FunctionArn = "arn:aws:lambda:us-east-2:123456789012:function:myfunction";
    internal static readonly DateTimeOffset Now = new(2019, 11, 14, 0, 38, 6, 21, TimeSpan.Zero);
    internal static readonly Guid RequestId = Guid.Parse("c9b8fa9f-5a7f-4c8e-af9c-0c604cde93a5");

    private static readonly BigInteger FirstSequence = BigInteger.Parse("49601189658422359378836298521827638475320189012309704722", CultureInfo.InvariantCulture);

    internal static List<SourceRecord> Batch(int count, DateTimeOffset firstArrival) =>
        [.. Enumerable.Range(0, count).Select(i => new SourceRecord
        {
            Id = (FirstSequence + (i * 1000)).ToString(CultureInfo.InvariantCulture),
            PartitionKey = $"pk-{i}",
            Body = new byte[] { (byte)i },
            Source = StreamArn,
            SentAt = firstArrival.AddMilliseconds(i * 250),
        })];

    internal static KinesisFailureRecord Sample(IReadOnlyList<SourceRecord> batch, DateTimeOffset now, string condition = FailedBatchDecision.RetryAttemptsExhausted) =>
        KinesisFailureRecord.Create(
            StreamArn,
            "shardId-000000000001",
            batch,
            condition,
            approximateInvokeCount: 3,
            FunctionArn,
            new KinesisFailureResponseContext(200, KinesisFailureResponseContext.LatestVersion, KinesisFailureResponseContext.Unhandled),
            RequestId,
            new FakeTimeProvider(now));

    [Fact]
    public void Given_a_discarded_batch_When_serialized_Then_every_field_has_AWS_name_order_and_value()
    {
        var firstArrival = new DateTimeOffset(2019, 11, 14, 0, 38, 4, 835, TimeSpan.Zero);
        List<SourceRecord> batch = Batch(4, firstArrival);

        string json = KinesisFailureJson.Serialize(Sample(batch, Now));

        using var doc = JsonDocument.Parse(json);
        JsonElement root = doc.RootElement;
        Assert.Equal(["requestContext", "responseContext", "version", "timestamp", "KinesisBatchInfo"], Names(root));

        JsonElement request = root.GetProperty("requestContext");
        Assert.Equal(["requestId", "functionArn", "condition", "approximateInvokeCount"], Names(request));
        Assert.Equal("c9b8fa9f-5a7f-4c8e-af9c-0c604cde93a5", request.GetProperty("requestId").GetString());
        Assert.Equal(FunctionArn, request.GetProperty("functionArn").GetString());
        Assert.Equal("RetryAttemptsExhausted", request.GetProperty("condition").GetString());
        Assert.Equal(3, request.GetProperty("approximateInvokeCount").GetInt32());

        JsonElement response = root.GetProperty("responseContext");
        Assert.Equal(["statusCode", "executedVersion", "functionError"], Names(response));
        Assert.Equal(200, response.GetProperty("statusCode").GetInt32());
        Assert.Equal("$LATEST", response.GetProperty("executedVersion").GetString());
        Assert.Equal("Unhandled", response.GetProperty("functionError").GetString());

        Assert.Equal("1.0", root.GetProperty("version").GetString());
        Assert.Equal("2019-11-14T00:38:06.021Z", root.GetProperty("timestamp").GetString());

        JsonElement info = root.GetProperty("KinesisBatchInfo");
        Assert.Equal(["shardId", "startSequenceNumber", "endSequenceNumber", "approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord", "batchSize", "streamArn"], Names(info));
        Assert.Equal("shardId-000000000001", info.GetProperty("shardId").GetString());
        Assert.Equal(batch[0].Id, info.GetProperty("startSequenceNumber").GetString());
        Assert.Equal(batch[3].Id, info.GetProperty("endSequenceNumber").GetString());
        Assert.Equal("2019-11-14T00:38:04.835Z", info.GetProperty("approximateArrivalOfFirstRecord").GetString());
        Assert.Equal("2019-11-14T00:38:05.585Z", info.GetProperty("approximateArrivalOfLastRecord").GetString());
        Assert.Equal(4, info.GetProperty("batchSize").GetInt32());
        Assert.Equal(StreamArn, info.GetProperty("streamArn").GetString());
    }

    [Fact]
    public void Given_times_off_UTC_and_with_sub_millisecond_ticks_When_serialized_Then_they_are_UTC_with_exactly_three_decimals()
    {
        var localNow = new DateTimeOffset(2024, 2, 29, 23, 59, 59, 7, TimeSpan.FromHours(2)).AddTicks(4321);
        var localArrival = new DateTimeOffset(2024, 2, 29, 20, 0, 0, 0, TimeSpan.FromHours(-5));

        string json = KinesisFailureJson.Serialize(Sample(Batch(1, localArrival), localNow));

        using var doc = JsonDocument.Parse(json);
        Assert.Equal("2024-02-29T21:59:59.007Z", doc.RootElement.GetProperty("timestamp").GetString());
        JsonElement info = doc.RootElement.GetProperty("KinesisBatchInfo");
        Assert.Equal("2024-03-01T01:00:00.000Z", info.GetProperty("approximateArrivalOfFirstRecord").GetString());
        Assert.Equal(info.GetProperty("approximateArrivalOfFirstRecord").GetString(), info.GetProperty("approximateArrivalOfLastRecord").GetString());
    }

    [Fact]
    public void Given_a_record_When_serialized_and_read_back_Then_it_is_equal()
    {
        KinesisFailureRecord record = Sample(Batch(3, Now.AddSeconds(-2)), Now, FailedBatchDecision.RecordAgeExceeded);

        KinesisFailureRecord back = KinesisFailureJson.Deserialize(KinesisFailureJson.Serialize(record));

        Assert.Equal(record, back);
        Assert.Equal("RecordAgeExceeded", back.RequestContext.Condition);
    }

    [Fact]
    public void Given_a_batch_of_500_When_created_Then_first_and_last_sequence_numbers_arrivals_and_size_come_from_the_ends()
    {
        List<SourceRecord> batch = Batch(500, Now.AddMinutes(-3));

        KinesisFailureRecord record = Sample(batch, Now);

        Assert.Equal(batch[0].Id, record.KinesisBatchInfo.StartSequenceNumber);
        Assert.Equal(batch[499].Id, record.KinesisBatchInfo.EndSequenceNumber);
        Assert.Equal(batch[0].SentAt, record.KinesisBatchInfo.ApproximateArrivalOfFirstRecord);
        Assert.Equal(batch[499].SentAt, record.KinesisBatchInfo.ApproximateArrivalOfLastRecord);
        Assert.Equal(500, record.KinesisBatchInfo.BatchSize);
        Assert.Equal(Now, record.Timestamp);
        Assert.Equal(RequestId.ToString(), record.RequestContext.RequestId);
    }

    [Fact]
    public void Given_an_empty_batch_When_created_Then_it_is_refused_naming_shard_and_stream()
    {
        var ex = Assert.Throws<ArgumentException>(() => Sample([], Now));

        Assert.Equal("batch", ex.ParamName);
        Assert.Contains("is empty", ex.Message, StringComparison.Ordinal);
        Assert.Contains("shardId-000000000001", ex.Message, StringComparison.Ordinal);
        Assert.Contains(StreamArn, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_records_out_of_shard_order_When_created_Then_it_is_refused_naming_both()
    {
        List<SourceRecord> batch = Batch(3, Now);
        (batch[1], batch[2]) = (batch[2], batch[1]);

        var ex = Assert.Throws<ArgumentException>(() => Sample(batch, Now));

        Assert.Contains($"record {batch[2].Id} follows {batch[1].Id}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_record_without_arrival_time_When_created_Then_it_is_refused_naming_it()
    {
        List<SourceRecord> batch = Batch(2, Now);
        batch[1] = new SourceRecord { Id = batch[1].Id, Body = batch[1].Body, Source = StreamArn };

        var ex = Assert.Throws<ArgumentException>(() => Sample(batch, Now));

        Assert.Contains($"Record {batch[1].Id} has no approximate arrival time", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Bisect")]
    [InlineData("retryattemptsexhausted")]
    public void Given_an_unknown_condition_When_created_Then_it_is_refused_naming_it(string condition)
    {
        var ex = Assert.Throws<ArgumentException>(() => Sample(Batch(1, Now), Now, condition));

        Assert.Equal("condition", ex.ParamName);
        Assert.Contains($"condition '{condition}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_non_sequence_number_id_When_created_Then_it_is_refused_naming_it()
    {
        List<SourceRecord> batch = [new SourceRecord { Id = "msg-1", Body = Array.Empty<byte>(), Source = StreamArn, SentAt = Now }];

        var ex = Assert.Throws<ArgumentException>(() => Sample(batch, Now));

        Assert.Contains("'msg-1'", ex.Message, StringComparison.Ordinal);
    }

    private static List<string> Names(JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name)];
}
