using Pipeline.BackgroundRemoval;
using Pipeline.BackgroundRemoval.Function;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Storage;

namespace Pipeline.Aws.Tests.S3;

/// <summary>The router without S3: local jobs still run through the file function and its folder rules.</summary>
public sealed class BackgroundRemovalFunctionTests(ModelFixture model) : IClassFixture<ModelFixture>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bgpipe-router-").FullName;

    [Fact]
    public async Task Given_a_local_host_When_a_file_job_is_routed_Then_the_file_function_writes_under_the_output_folder()
    {
        BackgroundRemovalFunction router = LocalRouter(out FileRoots roots);
        await File.WriteAllBytesAsync(Path.Combine(roots.InputRoot, "a.jpg"), Images.Jpeg(120, 90));
        Job job = NewJob("a.jpg", null);

        string? identity = await router.GetSourceIdentityAsync(job, CancellationToken.None);
        JobOutput output = await router.InvokeAsync(job, new InvocationContext("m", 1, 1, $"{job.Key}#{identity}"), CancellationToken.None);

        Assert.Equal(Path.Combine(roots.OutputRoot, "a.png"), output.Location);
        Assert.Equal((120, 90, true), Images.Describe(await File.ReadAllBytesAsync(output.Location!)));
    }

    [Theory]
    [InlineData("s3://photos/a.jpg", null, "source 's3://photos/a.jpg' is an S3 URI, but this host has no S3 storage configured")]
    [InlineData("a.jpg", "s3://photos/a.png", "destination 's3://photos/a.png' is an S3 URI, but this host has no S3 storage configured; use a local destination")]
    [InlineData("S3:/photos/a.jpg", null, "source 'S3:/photos/a.jpg' is an S3 URI, but this host has no S3 storage configured")]
    [InlineData("../escape.jpg", null, "source '../escape.jpg' escapes the input folder")]
    public async Task Given_a_local_host_When_a_job_names_s3_or_escapes_its_folder_Then_it_fails_permanently_with_the_reason(string source, string? destination, string reason)
    {
        BackgroundRemovalFunction router = LocalRouter(out _);

        var ex = await Assert.ThrowsAnyAsync<PermanentJobException>(async () => await router.GetSourceIdentityAsync(NewJob(source, destination), CancellationToken.None));

        Assert.Equal(reason, ex.Message);
    }

    [Fact]
    public void Given_no_function_When_the_router_is_built_Then_it_is_refused() =>
        Assert.Throws<ArgumentException>(() => new BackgroundRemovalFunction(null, null));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private BackgroundRemovalFunction LocalRouter(out FileRoots roots)
    {
        roots = new FileRoots(Directory.CreateDirectory(Path.Combine(_root, "in")).FullName, Path.Combine(_root, "out"));
        return new BackgroundRemovalFunction(s3: null, new FileBackgroundRemovalFunction(roots, new BackgroundRemover(model.Model)));
    }

    private static Job NewJob(string source, string? destination) =>
        JsonJobDecoder.TryCreate(null, source, destination, null, null, out Job? job, out string? error) ? job! : throw new InvalidOperationException(error);
}
