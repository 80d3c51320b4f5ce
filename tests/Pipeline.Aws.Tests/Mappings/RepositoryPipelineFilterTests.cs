using Pipeline.Aws.Mappings;
using Pipeline.Core.Filtering;
using Pipeline.Core.Records;
using Pipeline.Testing;

namespace Pipeline.Aws.Tests.Mappings;

public sealed class RepositoryPipelineFilterTests
{
    [Theory]
    [InlineData("""{"source":"s3://b/a.jpg"}""", true)]
    [InlineData("""{"source":"s3://b/a.jpg","output":"cutout"}""", true)]
    [InlineData("""{"source":"s3://b/a.jpg","output":"mask"}""", true)]
    [InlineData("""{"source":"s3://b/a.jpg","output":"thumbnail"}""", false)]
    public void Given_the_shipped_sqs_pipeline_When_its_filter_sees_a_job_Then_only_unknown_output_kinds_are_filtered_out(string body, bool passes)
    {
        PipelineDefinition pipeline = PipelineDefinitionLoader.LoadFile(RepositoryRoot.Combine("pipelines", "sqs-backlog.yaml"));
        SqsEventDefinition ev = Assert.Single(pipeline.SqsEvents);
        FilterCriteria filter = FilterCriteria.Create(ev.FilterCriteria.Patterns);
        var record = new SourceRecord { Id = "m1", Body = System.Text.Encoding.UTF8.GetBytes(body), Source = "test-queue" };

        Assert.Equal(passes, filter.Matches(record));
    }
}
