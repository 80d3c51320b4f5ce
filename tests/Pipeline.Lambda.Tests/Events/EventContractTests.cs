using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Core.Invocation;
using Pipeline.Lambda.Events;
using Pipeline.Testing;

namespace Pipeline.Lambda.Tests.Events;

public sealed class EventContractTests
{
    public static TheoryData<string> EventFiles()
    {
        var data = new TheoryData<string>();
        foreach (string path in Directory.GetFiles(RepositoryRoot.Combine("events"), "*.json").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(path));
        }

        return data;
    }

    private static byte[] Read(string file) => File.ReadAllBytes(RepositoryRoot.Combine("events", file));

    [Theory]
    [MemberData(nameof(EventFiles))]
    public void GivenAnEventFile_WhenReadAndWrittenWithTheContracts_ThenTheJsonIsUnchanged(string file)
    {
        byte[] original = Read(file);
        string source = EventSources.Detect(original);

        byte[] written = source switch
        {
            EventSources.Sqs => JsonSerializer.SerializeToUtf8Bytes(JsonSerializer.Deserialize(original, LambdaJsonContext.Default.SqsEvent)!, LambdaJsonContext.Default.SqsEvent),
            EventSources.Kinesis => JsonSerializer.SerializeToUtf8Bytes(JsonSerializer.Deserialize(original, LambdaJsonContext.Default.KinesisEvent)!, LambdaJsonContext.Default.KinesisEvent),
            _ => throw new Xunit.Sdk.XunitException($"{file}: unexpected eventSource {source}"),
        };

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(original), JsonNode.Parse(written)), $"{file} changed on a round trip:\n{Encoding.UTF8.GetString(written)}");
    }

    [Theory]
    [MemberData(nameof(EventFiles))]
    public void GivenAnEventFile_WhenItsRecordsAreChecked_ThenEachCarriesTheGenuineFields(string file)
    {
        byte[] original = Read(file);
        if (file.StartsWith("sqs-", StringComparison.Ordinal))
        {
            SqsEvent ev = JsonSerializer.Deserialize(original, LambdaJsonContext.Default.SqsEvent)!;
            Assert.NotEmpty(ev.Records);
            foreach (SqsMessage m in ev.Records)
            {
                Assert.Equal(Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(m.Body!))), m.Md5OfBody);
                Assert.Equal("aws:sqs", m.EventSource);
                Assert.False(string.IsNullOrEmpty(m.MessageId));
                Assert.True(m.Attributes!.ContainsKey("ApproximateReceiveCount"));
                Assert.StartsWith("arn:aws:sqs:", m.EventSourceArn, StringComparison.Ordinal);
            }
        }
        else
        {
            Assert.StartsWith("kinesis-", file, StringComparison.Ordinal);
            KinesisEvent ev = JsonSerializer.Deserialize(original, LambdaJsonContext.Default.KinesisEvent)!;
            Assert.NotEmpty(ev.Records);
            foreach (KinesisEventRecord r in ev.Records)
            {
                Assert.Equal("aws:kinesis", r.EventSource);
                Assert.Equal("aws:kinesis:record", r.EventName);
                Assert.Equal($"shardId-000000000000:{r.Kinesis!.SequenceNumber}", r.EventId);
                Assert.NotEmpty(Convert.FromBase64String(r.Kinesis.Data!));
                Assert.True(r.Kinesis.ApproximateArrivalTimestamp > 1_700_000_000, "approximateArrivalTimestamp is epoch seconds");
            }
        }
    }

    [Fact]
    public void GivenAKinesisTimestamp_WhenRead_ThenFractionalEpochSecondsSurvive()
    {
        byte[] original = Read("kinesis-normal-batch.json");
        KinesisEvent ev = JsonSerializer.Deserialize(original, LambdaJsonContext.Default.KinesisEvent)!;

        Assert.Equal(1763841600.123, ev.Records[0].Kinesis!.ApproximateArrivalTimestamp, 3);
    }

    [Fact]
    public void GivenABatchResponse_WhenWritten_ThenItUsesLambdasNames()
    {
        var response = new BatchItemFailuresResponse([new BatchItemFailure("m-1")]);

        string json = JsonSerializer.Serialize(response, LambdaJsonContext.Default.BatchItemFailuresResponse);

        Assert.Equal("{\"batchItemFailures\":[{\"itemIdentifier\":\"m-1\"}]}", json);
    }

    [Theory]
    [InlineData("{\"Records\":[{\"eventSource\":\"aws:sns\"}]}", "aws:sns")]
    [InlineData("{\"other\":{\"a\":[1,2]},\"Records\":[{\"kinesis\":{\"x\":1},\"eventSource\":\"aws:kinesis\"}]}", "aws:kinesis")]
    public void GivenAnEvent_WhenItsSourceIsDetected_ThenTheFirstRecordsEventSourceIsReturned(string json, string expected) =>
        Assert.Equal(expected, EventSources.Detect(Encoding.UTF8.GetBytes(json)));

    [Theory]
    [InlineData("{\"Records\":[]}", "empty")]
    [InlineData("{\"detail\":{}}", "no 'Records'")]
    [InlineData("[1]", "not a JSON object")]
    [InlineData("{\"Records\":[{\"body\":\"x\"}]}", "no 'eventSource'")]
    public void GivenAnEventWithoutASource_WhenDetected_ThenTheErrorNamesWhatIsMissing(string json, string expected)
    {
        var ex = Assert.Throws<UnsupportedEventException>(() => EventSources.Detect(Encoding.UTF8.GetBytes(json)));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }
}
