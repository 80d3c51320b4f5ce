using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Core.Records;

namespace Pipeline.Core.Tests.Records;

public sealed class MassTransitEnvelopeDecoderTests
{
    /// <summary>The envelope MassTransit 8.5 wrote for a RemoveBackground (captured by Pipeline.MassTransit.Tests).</summary>
    private static byte[] Captured() => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Records", "Data", "masstransit-remove-background.json"));

    private static JsonObject CapturedNode() => JsonNode.Parse(Captured())!.AsObject();

    private static (Job? Job, string? Error) Decode(IJobDecoder decoder, string body)
    {
        decoder.TryDecode(Encoding.UTF8.GetBytes(body), out Job? job, out string? error);
        return (job, error);
    }

    private static string With(Action<JsonObject> change)
    {
        JsonObject envelope = CapturedNode();
        change(envelope);
        return envelope.ToJsonString();
    }

    [Fact]
    public void Given_the_captured_envelope_When_decoded_Then_the_job_is_its_message()
    {
        Assert.True(MassTransitEnvelopeDecoder.Instance.TryDecode(Captured(), out Job? job, out string? error), error);

        Assert.Equal(new Job
        {
            JobId = "mt-captured-1",
            Source = "s3://bgpipe-input/photos/a.jpg",
            Destination = "s3://bgpipe-output/a.png",
            Output = OutputKind.Cutout,
            Background = null,
            Key = "mt-captured-1",
        }, job);
    }

    [Fact]
    public void Given_the_captured_envelope_and_its_message_sent_plain_When_both_are_decoded_Then_they_are_the_same_job()
    {
        string plain = CapturedNode()["message"]!.ToJsonString();

        var (fromEnvelope, _) = Decode(AutoJobDecoder.Instance, Encoding.UTF8.GetString(Captured()));
        var (fromPlain, error) = Decode(AutoJobDecoder.Instance, plain);

        Assert.Null(error);
        Assert.Equal(fromPlain, fromEnvelope);
    }

    [Fact]
    public void Given_an_envelope_of_another_message_type_When_decoded_Then_the_error_names_that_type_and_the_message_id()
    {
        string body = With(e => e["messageType"] = new JsonArray("urn:message:Shop.Contracts:OrderPlaced", "urn:message:Shop.Contracts:IEvent"));

        var (job, error) = Decode(MassTransitEnvelopeDecoder.Instance, body);

        Assert.Null(job);
        Assert.Equal(
            "MassTransit envelope (messageId a3740000-cdba-376c-a67b-08df49218447) carries message type 'urn:message:Shop.Contracts:OrderPlaced', 'urn:message:Shop.Contracts:IEvent', not RemoveBackground; this pipeline only runs RemoveBackground jobs",
            error);
    }

    [Fact]
    public void Given_a_message_type_list_holding_RemoveBackground_among_others_When_decoded_Then_it_is_accepted()
    {
        string body = With(e => e["messageType"] = new JsonArray("urn:message:Other:Thing", "urn:message:My.Namespace:RemoveBackground"));

        Assert.NotNull(Decode(MassTransitEnvelopeDecoder.Instance, body).Job);
    }

    [Theory]
    [InlineData("urn:message:My.Namespace:RemoveBackgroundV2")]
    [InlineData("urn:message:My.Namespace:NotRemoveBackground")]
    public void Given_a_type_that_only_resembles_RemoveBackground_When_decoded_Then_it_is_refused(string urn)
    {
        string body = With(e => e["messageType"] = new JsonArray(urn));

        Assert.Contains($"'{urn}'", Decode(MassTransitEnvelopeDecoder.Instance, body).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_an_envelope_without_a_message_When_decoded_Then_the_error_says_so()
    {
        string body = With(e => e.Remove("message"));

        Assert.Equal("MassTransit envelope (messageId a3740000-cdba-376c-a67b-08df49218447) has no 'message' object", Decode(AutoJobDecoder.Instance, body).Error);
    }

    [Fact]
    public void Given_an_envelope_whose_message_is_a_string_When_decoded_Then_the_error_names_the_kind()
    {
        string body = With(e => e["message"] = "s3://bgpipe-input/a.jpg");

        Assert.Equal("MassTransit envelope (messageId a3740000-cdba-376c-a67b-08df49218447): 'message' must be a JSON object (got a string)", Decode(AutoJobDecoder.Instance, body).Error);
    }

    [Fact]
    public void Given_a_message_with_a_bad_job_field_When_decoded_Then_the_plain_decoders_error_is_reported_inside_the_envelope()
    {
        string body = With(e => e["message"]!["output"] = "sepia");

        Assert.Equal(
            "MassTransit RemoveBackground message (messageId a3740000-cdba-376c-a67b-08df49218447): 'output' must be 'cutout' or 'mask' (got 'sepia')",
            Decode(AutoJobDecoder.Instance, body).Error);
    }

    [Fact]
    public void Given_a_message_with_an_unknown_property_When_decoded_Then_it_is_refused_as_a_plain_job_would_be()
    {
        string body = With(e => e["message"]!["sorce"] = "a.jpg");

        Assert.Contains("unknown property 'sorce' in job", Decode(AutoJobDecoder.Instance, body).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_message_without_source_When_decoded_Then_the_error_names_it()
    {
        string body = With(e => e["message"]!.AsObject().Remove("source"));

        Assert.Contains("job is missing required property 'source'", Decode(AutoJobDecoder.Instance, body).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_messageType_that_is_not_an_array_When_decoded_Then_the_error_names_it()
    {
        string body = With(e => e["messageType"] = "urn:message:X:RemoveBackground");

        Assert.Contains("'messageType' must be an array of URNs (got a string)", Decode(AutoJobDecoder.Instance, body).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_body_with_a_message_but_no_messageType_When_decoded_by_the_envelope_decoder_Then_the_error_asks_for_it()
    {
        var (_, error) = Decode(AutoJobDecoder.Instance, """{"message":{"source":"a.jpg"}}""");

        Assert.Equal("MassTransit envelope has no 'messageType'; expected [\"urn:message:<Namespace>:RemoveBackground\"]", error);
    }

    [Theory]
    [InlineData("""{"source":"a.jpg","message":"hi"}""", "unknown property 'message' in job (expected jobId, source, destination, output, background)")]
    [InlineData("not json", "message body is not valid JSON")]
    [InlineData("""["messageType"]""", "message body is not a JSON object (starts with an array)")]
    [InlineData("""{"sorce":"a.jpg"}""", "unknown property 'sorce' in job")]
    public void Given_plain_bodies_When_auto_decoded_Then_the_plain_decoders_errors_are_unchanged(string body, string expected)
    {
        var (_, auto) = Decode(AutoJobDecoder.Instance, body);
        var (_, plain) = Decode(JsonJobDecoder.Instance, body);

        Assert.Equal(plain, auto);
        Assert.Contains(expected, auto, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_plain_job_When_auto_decoded_Then_it_is_the_same_job_as_the_plain_decoder_makes()
    {
        const string body = """{"jobId":"p-1","source":"in/a.jpg","output":"mask"}""";

        Assert.Equal(Decode(JsonJobDecoder.Instance, body).Job, Decode(AutoJobDecoder.Instance, body).Job);
        Assert.False(AutoJobDecoder.IsEnvelope(Encoding.UTF8.GetBytes(body)));
        Assert.True(AutoJobDecoder.IsEnvelope(Captured()));
    }

    [Fact]
    public void Given_an_empty_or_truncated_envelope_When_decoded_Then_the_errors_say_so()
    {
        Assert.Equal("MassTransit envelope is empty", Decode(MassTransitEnvelopeDecoder.Instance, "").Error);
        string truncated = Encoding.UTF8.GetString(Captured())[..120];
        Assert.StartsWith("MassTransit envelope is not valid JSON", Decode(MassTransitEnvelopeDecoder.Instance, truncated).Error, StringComparison.Ordinal);
    }
}
