using System.Text;
using Pipeline.Client.Jobs;
using Pipeline.Core.Records;

namespace Pipeline.Client.Tests.Jobs;

public sealed class JobRequestTests
{
    [Fact]
    public void Given_a_full_job_When_made_into_a_body_Then_the_pipeline_decodes_the_same_job()
    {
        var request = new JobRequest { Source = "s3://in/cat.jpg", Destination = "s3://out/cat.png", Output = "mask", Background = "#00FF00" };

        string body = request.ToBody("job-7");

        Assert.True(JsonJobDecoder.Instance.TryDecode(Encoding.UTF8.GetBytes(body), out Job? job, out string? error), error);
        Assert.Equal("job-7", job!.JobId);
        Assert.Equal("s3://in/cat.jpg", job.Source);
        Assert.Equal("s3://out/cat.png", job.Destination);
        Assert.Equal(OutputKind.Mask, job.Output);
        Assert.Equal("#00FF00", job.Background);
    }

    [Theory]
    [InlineData("", null, null, "source")]
    [InlineData("s3://in/a.jpg", "sepia", null, "output")]
    [InlineData("s3://in/a.jpg", null, "green", "background")]
    public void Given_a_job_the_pipeline_would_refuse_When_made_into_a_body_Then_the_error_names_the_property(string source, string? output, string? background, string property)
    {
        var request = new JobRequest { Source = source, Output = output, Background = background };

        var error = Assert.Throws<JobValidationException>(() => request.ToBody("job-1"));

        Assert.Contains("job-1", error.Message, StringComparison.Ordinal);
        Assert.Contains(property, error.Message, StringComparison.Ordinal);
    }
}
