using System.Text;
using Pipeline.Core.Records;

namespace Pipeline.Core.Tests.Records;

public sealed class JsonJobDecoderTests
{
    private static (Job? Job, string? Error) Decode(string body)
    {
        JsonJobDecoder.Instance.TryDecode(Encoding.UTF8.GetBytes(body), out Job? job, out string? error);
        return (job, error);
    }

    [Fact]
    public void Given_a_full_job_When_decoded_Then_every_field_is_read_and_the_key_is_the_job_id()
    {
        var (job, error) = Decode("""{"jobId":"j-1","source":"in/a.jpg","destination":"out/a.png","output":"mask","background":"#00FF00"}""");
        Assert.Null(error);
        Assert.NotNull(job);
        Assert.Equal("j-1", job.Key);
        Assert.Equal("in/a.jpg", job.Source);
        Assert.Equal("out/a.png", job.Destination);
        Assert.Equal(OutputKind.Mask, job.Output);
        Assert.Equal("#00FF00", job.Background);
    }

    [Fact]
    public void Given_jobs_without_ids_When_decoded_Then_the_key_is_a_hash_of_what_they_ask_for()
    {
        var a = Decode("""{"source":"in/a.jpg"}""").Job!;
        var a2 = Decode("""{"source":"in/a.jpg","output":"cutout"}""").Job!;
        var b = Decode("""{"source":"in/b.jpg"}""").Job!;
        var aMask = Decode("""{"source":"in/a.jpg","output":"mask"}""").Job!;
        Assert.Equal(a.Key, a2.Key);
        Assert.NotEqual(a.Key, b.Key);
        Assert.NotEqual(a.Key, aMask.Key);
        Assert.StartsWith("job-", a.Key, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("not json", "not valid JSON")]
    [InlineData("[1,2]", "not a JSON object")]
    [InlineData("{}", "missing required property 'source'")]
    [InlineData("""{"source":""}""", "missing required property 'source'")]
    [InlineData("""{"sorce":"a.jpg"}""", "unknown property 'sorce'")]
    [InlineData("""{"source":42}""", "'source' must be a string")]
    [InlineData("""{"source":"a.jpg","output":"png"}""", "'output' must be 'cutout' or 'mask'")]
    [InlineData("""{"source":"a.jpg","background":"green"}""", "'background' must be a colour as #RRGGBB")]
    [InlineData("""{"source":"a.jpg","background":"#12345G"}""", "#RRGGBB")]
    [InlineData("""{"source":"a.jpg"}{"source":"b.jpg"}""", "not valid JSON")]
    [InlineData("""{"source":"a.jpg",""", "not valid JSON")]
    public void Given_a_bad_body_When_decoded_Then_the_error_names_the_problem(string body, string expected)
    {
        var (job, error) = Decode(body);
        Assert.Null(job);
        Assert.NotNull(error);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }
}
