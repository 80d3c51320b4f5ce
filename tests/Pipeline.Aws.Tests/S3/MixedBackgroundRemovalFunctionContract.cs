using Pipeline.BackgroundRemoval;
using Pipeline.BackgroundRemoval.Function;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Storage;
using Pipeline.Testing.Emulators;

namespace Pipeline.Aws.Tests.S3;

/// <summary>
/// Jobs that mix a local file with S3 through the router: a local source written to <c>s3://</c>, an <c>s3://</c> source
/// written under the output folder. Real emulator, real model, real folders. One subclass per emulator.
/// </summary>
public abstract class MixedBackgroundRemovalFunctionContract(EmulatorFixture emulator, ModelFixture model) : IDisposable
{
    private readonly string _base = Directory.CreateTempSubdirectory("bgpipe-mixed-").FullName;
    private FileRoots? _fileRoots;

    private FileRoots Roots => _fileRoots ??= new FileRoots(Directory.CreateDirectory(Path.Combine(_base, "in")).FullName, Path.Combine(_base, "out"));

    [Fact]
    public async Task Given_a_local_file_and_an_s3_destination_When_invoked_and_retried_Then_a_png_is_written_once_with_content_type_image_png()
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "tos3");
        WriteInput("sub/a.jpg", Images.Jpeg(160, 120));
        var store = new RecordingStore(kit.Store());
        BackgroundRemovalFunction router = Router(store);
        Job job = NewJob("sub/a.jpg", $"s3://{kit.Bucket}/out/a.png");

        string? identity = await router.GetSourceIdentityAsync(job, CancellationToken.None);
        JobOutput first = await InvokeAsync(router, job);
        var before = await kit.GetAsync("out/a.png");
        JobOutput second = await InvokeAsync(router, job);
        var after = await kit.GetAsync("out/a.png");

        var file = new FileInfo(Path.Combine(Roots.InputRoot, "sub", "a.jpg"));
        Assert.Equal($"{file.Length}-{file.LastWriteTimeUtc.Ticks}", identity);
        Assert.Equal($"s3://{kit.Bucket}/out/a.png", first.Location);
        Assert.Equal(first, second);
        Assert.Equal([WriteOutcome.Written, WriteOutcome.AlreadyWritten], store.Outcomes);
        Assert.Equal("image/png", before.ContentType);
        Assert.Equal((160, 120, true), Images.Describe(before.Body));
        Assert.Equal(before.ETag, after.ETag);
        Assert.Equal(before.LastModified, after.LastModified);
        Assert.Equal(before.Body, after.Body);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Roots.OutputRoot));
    }

    [Fact]
    public async Task Given_a_local_source_written_to_s3_When_the_file_is_rewritten_Then_its_identity_changes_and_the_result_is_replaced()
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "tos3new");
        WriteInput("a.jpg", Images.Jpeg(160, 120));
        var store = new RecordingStore(kit.Store());
        BackgroundRemovalFunction router = Router(store);
        Job job = NewJob("a.jpg", $"s3://{kit.Bucket}/a.png");

        string? identity = await router.GetSourceIdentityAsync(job, CancellationToken.None);
        await InvokeAsync(router, job);
        WriteInput("a.jpg", Images.Jpeg(200, 100));
        string? newIdentity = await router.GetSourceIdentityAsync(job, CancellationToken.None);
        await InvokeAsync(router, job);

        Assert.NotEqual(identity, newIdentity);
        Assert.Equal([WriteOutcome.Written, WriteOutcome.Replaced], store.Outcomes);
        Assert.Equal((200, 100, true), Images.Describe((await kit.GetAsync("a.png")).Body));
    }

    [Fact]
    public async Task Given_an_s3_source_and_a_local_destination_When_invoked_Then_the_png_lands_under_the_output_folder()
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "tolocal");
        string etag = await kit.PutAsync("photos/a.jpg", Images.Jpeg(160, 120), "image/jpeg");
        var store = new RecordingStore(kit.Store());
        BackgroundRemovalFunction router = Router(store);
        Job job = NewJob($"s3://{kit.Bucket}/photos/a.jpg", "cut/a.png");

        string? identity = await router.GetSourceIdentityAsync(job, CancellationToken.None);
        JobOutput output = await InvokeAsync(router, job);

        string expected = Path.Combine(Roots.OutputRoot, "cut", "a.png");
        Assert.Equal($"s3:{etag}", identity);
        Assert.Equal(expected, output.Location);
        Assert.Equal((160, 120, true), Images.Describe(await File.ReadAllBytesAsync(expected)));
        Assert.Equal([expected], Directory.EnumerateFiles(Roots.OutputRoot, "*", SearchOption.AllDirectories));
        Assert.Empty(store.Outcomes);
    }

    [Fact]
    public async Task Given_an_s3_source_rewritten_after_its_claim_When_invoked_to_a_local_destination_Then_it_fails_transiently_and_writes_nothing()
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "tolocalchg");
        await kit.PutAsync("a.jpg", Images.Jpeg(), "image/jpeg");
        BackgroundRemovalFunction router = Router(kit.Store());
        Job job = NewJob($"s3://{kit.Bucket}/a.jpg", "a.png");
        string claimed = $"{job.Key}#{await router.GetSourceIdentityAsync(job, CancellationToken.None)}";
        await kit.PutAsync("a.jpg", Images.Jpeg(100, 100), "image/jpeg");

        var ex = await Assert.ThrowsAsync<ObjectChangedException>(async () =>
            await router.InvokeAsync(job, new InvocationContext("m-1", 1, 1, claimed), CancellationToken.None));

        Assert.Contains("changed since this attempt was claimed", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Roots.OutputRoot));
    }

    [Theory]
    [InlineData("../escape.png", "destination '../escape.png' escapes the output folder")]
    [InlineData("cut/../../escape.png", "destination 'cut/../../escape.png' escapes the output folder")]
    [InlineData("/tmp/escape.png", "destination '/tmp/escape.png' is an absolute path; jobs name files relative to the output folder")]
    [InlineData("cut/", "destination 'cut/' names a folder, not a file")]
    public async Task Given_an_s3_source_and_a_local_destination_outside_the_output_folder_When_identified_or_invoked_Then_it_is_refused_permanently(string destination, string reason)
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "escape");
        await kit.PutAsync("a.jpg", Images.Jpeg(), "image/jpeg");
        BackgroundRemovalFunction router = Router(kit.Store());
        Job job = NewJob($"s3://{kit.Bucket}/a.jpg", destination);

        var identify = await Assert.ThrowsAnyAsync<PermanentJobException>(async () => await router.GetSourceIdentityAsync(job, CancellationToken.None));
        var invoke = await Assert.ThrowsAnyAsync<PermanentJobException>(async () =>
            await router.InvokeAsync(job, new InvocationContext("m-1", 1, 1, $"{job.Key}#x"), CancellationToken.None));

        Assert.Equal(reason, identify.Message);
        Assert.Equal(reason, invoke.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Roots.OutputRoot));
        Assert.False(File.Exists(Path.Combine(_base, "escape.png")));
    }

    [Fact]
    public async Task Given_a_local_source_and_an_s3_destination_off_the_allow_list_When_identified_or_invoked_Then_it_is_refused_by_bucket_name()
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "offlist");
        WriteInput("a.jpg", Images.Jpeg());
        var store = new RecordingStore(kit.Store());
        BackgroundRemovalFunction router = Router(store);
        Job job = NewJob("a.jpg", "s3://not-mine/a.png");

        var identify = await Assert.ThrowsAsync<BucketNotAllowedException>(async () => await router.GetSourceIdentityAsync(job, CancellationToken.None));
        var invoke = await Assert.ThrowsAsync<BucketNotAllowedException>(async () =>
            await router.InvokeAsync(job, new InvocationContext("m-1", 1, 1, $"{job.Key}#x"), CancellationToken.None));

        string expected = $"bucket 'not-mine' is not in the allow-list ({kit.Bucket})";
        Assert.Equal(expected, identify.Message);
        Assert.Equal(expected, invoke.Message);
        Assert.Empty(store.Outcomes);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Roots.OutputRoot));
    }

    [Theory]
    [InlineData("s3://{bucket}/", "destination 's3://{bucket}/' has no key; expected s3://{bucket}/key")]
    [InlineData("s3://{bucket}/cut/", "destination 's3://{bucket}/cut/' names a folder (its key ends with '/'), not an object")]
    public async Task Given_a_local_source_and_a_malformed_s3_destination_When_identified_Then_it_fails_permanently_naming_the_value(string destination, string reason)
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "badkey");
        WriteInput("a.jpg", Images.Jpeg());
        BackgroundRemovalFunction router = Router(kit.Store());

        var ex = await Assert.ThrowsAsync<InvalidLocationException>(async () =>
            await router.GetSourceIdentityAsync(NewJob("a.jpg", destination.Replace("{bucket}", kit.Bucket, StringComparison.Ordinal)), CancellationToken.None));

        Assert.StartsWith(reason.Replace("{bucket}", kit.Bucket, StringComparison.Ordinal), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_a_local_source_without_destination_When_no_s3_default_is_configured_Then_it_is_written_under_the_output_folder()
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "nodefault");
        WriteInput("sub/a.jpg", Images.Jpeg());
        var store = new RecordingStore(kit.Store());

        JobOutput output = await InvokeAsync(Router(store), NewJob("sub/a.jpg", null));

        Assert.Equal(Path.Combine(Roots.OutputRoot, "sub", "a.png"), output.Location);
        Assert.True(File.Exists(output.Location));
        Assert.Empty(store.Outcomes);
    }

    [Theory]
    [InlineData("sub/a.b.jpg", "cutouts/sub/a.b.png")]
    [InlineData("./sub/x/../a.jpeg", "cutouts/sub/a.png")]
    public async Task Given_a_default_s3_bucket_for_files_When_a_local_source_has_no_destination_Then_it_is_written_there_under_the_prefix(string source, string key)
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "filedefault");
        WriteInput("sub/x/.keep", []);
        WriteInput(source, Images.Jpeg(120, 90));
        var store = new RecordingStore(kit.Store());
        var options = new S3BackgroundRemovalOptions { DefaultDestinationBucketForFiles = kit.Bucket };

        JobOutput output = await InvokeAsync(Router(store, options), NewJob(source, null));

        Assert.Equal($"s3://{kit.Bucket}/{key}", output.Location);
        var written = await kit.GetAsync(key);
        Assert.Equal("image/png", written.ContentType);
        Assert.Equal((120, 90, true), Images.Describe(written.Body));
        Assert.Equal([WriteOutcome.Written], store.Outcomes);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Roots.OutputRoot));
    }

    [Fact]
    public async Task Given_a_host_with_one_kind_of_storage_When_a_job_names_the_other_Then_it_fails_permanently_naming_the_value()
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "onekind");
        await kit.PutAsync("a.jpg", Images.Jpeg(), "image/jpeg");
        WriteInput("a.jpg", Images.Jpeg());
        var s3Only = new BackgroundRemovalFunction(S3Function(kit.Store()), files: null);
        var filesOnly = new BackgroundRemovalFunction(s3: null, FileFunction());

        var s3LocalSource = await Assert.ThrowsAsync<InvalidLocationException>(async () =>
            await s3Only.GetSourceIdentityAsync(NewJob("a.jpg", $"s3://{kit.Bucket}/a.png"), CancellationToken.None));
        var s3LocalDestination = await Assert.ThrowsAsync<InvalidLocationException>(async () =>
            await s3Only.GetSourceIdentityAsync(NewJob($"s3://{kit.Bucket}/a.jpg", "a.png"), CancellationToken.None));
        var filesS3Source = await Assert.ThrowsAsync<InvalidLocationException>(async () =>
            await filesOnly.GetSourceIdentityAsync(NewJob($"s3://{kit.Bucket}/a.jpg", "a.png"), CancellationToken.None));
        var filesS3Destination = await Assert.ThrowsAsync<InvalidLocationException>(async () =>
            await filesOnly.InvokeAsync(NewJob("a.jpg", $"s3://{kit.Bucket}/a.png"), new InvocationContext("m-1", 1, 1, "k#x"), CancellationToken.None));

        Assert.Equal("source 'a.jpg' is not an s3:// URI; local file paths are accepted in local mode only", s3LocalSource.Message);
        Assert.Equal($"destination 'a.png' must be an s3:// URI when the source is one ('s3://{kit.Bucket}/a.jpg')", s3LocalDestination.Message);
        Assert.Equal($"source 's3://{kit.Bucket}/a.jpg' is an S3 URI, but this host has no S3 storage configured", filesS3Source.Message);
        Assert.Equal($"destination 's3://{kit.Bucket}/a.png' is an S3 URI, but this host has no S3 storage configured; use a local destination", filesS3Destination.Message);
        Assert.False(await kit.ExistsAsync("a.png"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Roots.OutputRoot));
    }

    [Fact]
    public async Task Given_a_poison_local_file_and_an_s3_destination_When_invoked_Then_it_fails_permanently_naming_the_file_and_nothing_is_written()
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "poisonmix");
        WriteInput("notes.jpg", Images.Text());
        var store = new RecordingStore(kit.Store());

        var ex = await Assert.ThrowsAsync<PermanentJobException>(async () => await InvokeAsync(Router(store), NewJob("notes.jpg", $"s3://{kit.Bucket}/notes.png")));

        Assert.StartsWith("notes.jpg: not a recognised image", ex.Message, StringComparison.Ordinal);
        Assert.Empty(store.Outcomes);
        Assert.False(await kit.ExistsAsync("notes.png"));
    }

    public void Dispose()
    {
        Directory.Delete(_base, recursive: true);
        GC.SuppressFinalize(this);
    }

    private void WriteInput(string relative, byte[] bytes)
    {
        string path = Path.Combine(Roots.InputRoot, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }

    private BackgroundRemovalFunction Router(IObjectStore store, S3BackgroundRemovalOptions? options = null) =>
        new(S3Function(store, options), FileFunction());

    private S3BackgroundRemovalFunction S3Function(IObjectStore store, S3BackgroundRemovalOptions? options = null) =>
        new(store, new BackgroundRemover(model.Model), options);

    private FileBackgroundRemovalFunction FileFunction() => new(Roots, new BackgroundRemover(model.Model));

    private static async Task<JobOutput> InvokeAsync(IJobFunction function, Job job)
    {
        string? identity = await function.GetSourceIdentityAsync(job, CancellationToken.None);
        return await function.InvokeAsync(job, new InvocationContext("m-1", 1, 1, $"{job.Key}#{identity}"), CancellationToken.None);
    }

    private static Job NewJob(string source, string? destination) =>
        JsonJobDecoder.TryCreate(null, source, destination, null, null, out Job? job, out string? error) ? job! : throw new InvalidOperationException(error);
}

[Collection(EmulatorCollections.Moto)]
public sealed class MixedBackgroundRemovalFunctionOnMoto(MotoFixture f, ModelFixture m) : MixedBackgroundRemovalFunctionContract(f, m), IClassFixture<ModelFixture>;

[Collection(EmulatorCollections.Fauxqs)]
public sealed class MixedBackgroundRemovalFunctionOnFauxqs(FauxqsFixture f, ModelFixture m) : MixedBackgroundRemovalFunctionContract(f, m), IClassFixture<ModelFixture>;
