using Pipeline.Aws.S3;
using Pipeline.BackgroundRemoval;
using Pipeline.BackgroundRemoval.Function;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Storage;
using Pipeline.Testing.Emulators;

namespace Pipeline.Aws.Tests.S3;

/// <summary>The S3 background-removal function end to end: real emulator, real model. One subclass per emulator.</summary>
public abstract class S3BackgroundRemovalFunctionContract(EmulatorFixture emulator, ModelFixture model)
{
    protected EmulatorFixture Emulator => emulator;

    [Fact]
    public async Task Given_a_good_image_in_s3_When_invoked_Then_a_png_lands_at_the_destination_with_content_type_image_png()
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "good");
        await kit.PutAsync("photos/a.jpg", Images.Jpeg(160, 120), "image/jpeg");
        var function = Function(kit);
        Job job = NewJob($"s3://{kit.Bucket}/photos/a.jpg", $"s3://{kit.Bucket}/out/a.png");

        JobOutput output = await InvokeAsync(function, job);

        Assert.Equal($"s3://{kit.Bucket}/out/a.png", output.Location);
        var written = await kit.GetAsync("out/a.png");
        Assert.Equal("image/png", written.ContentType);
        Assert.Equal((160, 120, true), Images.Describe(written.Body));
    }

    [Fact]
    public async Task Given_a_job_without_destination_When_invoked_Then_the_result_goes_under_the_output_prefix_with_a_png_extension()
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "default");
        await kit.PutAsync("photos/2024/a.b.jpeg", Images.Jpeg(), "image/jpeg");
        var function = Function(kit);

        JobOutput output = await InvokeAsync(function, NewJob($"s3://{kit.Bucket}/photos/2024/a.b.jpeg", null));

        Assert.Equal($"s3://{kit.Bucket}/cutouts/photos/2024/a.b.png", output.Location);
        Assert.True(await kit.ExistsAsync("cutouts/photos/2024/a.b.png"));
    }

    [Fact]
    public async Task Given_an_empty_output_prefix_and_a_png_source_When_the_default_destination_is_the_source_Then_it_fails_permanently_without_writing()
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "self");
        byte[] original = Images.Jpeg();
        await kit.PutAsync("a.png", original, "image/png");
        var function = Function(kit, new S3BackgroundRemovalOptions { DefaultDestinationPrefix = string.Empty });

        var ex = await Assert.ThrowsAsync<InvalidLocationException>(async () => await InvokeAsync(function, NewJob($"s3://{kit.Bucket}/a.png", null)));

        Assert.Equal($"destination 's3://{kit.Bucket}/a.png' is the source itself; it would be overwritten", ex.Message);
        Assert.Equal(original, (await kit.GetAsync("a.png")).Body);
    }

    [Fact]
    public async Task Given_a_finished_job_When_it_is_retried_after_a_crash_Then_the_second_call_succeeds_without_writing_again()
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "retry");
        await kit.PutAsync("in/a.jpg", Images.Jpeg(), "image/jpeg");
        var store = new RecordingStore(kit.Store());
        var function = new S3BackgroundRemovalFunction(store, new BackgroundRemover(model.Model));
        Job job = NewJob($"s3://{kit.Bucket}/in/a.jpg", $"s3://{kit.Bucket}/out/a.png");

        JobOutput first = await InvokeAsync(function, job);
        var before = await kit.GetAsync("out/a.png");
        JobOutput second = await InvokeAsync(function, job);
        var after = await kit.GetAsync("out/a.png");

        Assert.Equal(first, second);
        Assert.Equal([WriteOutcome.Written, WriteOutcome.AlreadyWritten], store.Outcomes);
        Assert.Equal(before.ETag, after.ETag);
        Assert.Equal(before.LastModified, after.LastModified);
        Assert.Equal(before.Body, after.Body);
    }

    [Fact]
    public async Task Given_a_source_When_it_is_rewritten_Then_its_identity_changes_and_the_result_is_replaced()
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "identity");
        string etag = await kit.PutAsync("in/a.jpg", Images.Jpeg(160, 120), "image/jpeg");
        var function = Function(kit);
        Job job = NewJob($"s3://{kit.Bucket}/in/a.jpg", $"s3://{kit.Bucket}/out/a.png");

        string? identity = await function.GetSourceIdentityAsync(job, CancellationToken.None);
        await InvokeAsync(function, job);
        string newEtag = await kit.PutAsync("in/a.jpg", Images.Jpeg(200, 100), "image/jpeg");
        string? newIdentity = await function.GetSourceIdentityAsync(job, CancellationToken.None);
        await InvokeAsync(function, job);

        Assert.Equal($"s3:{etag}", identity);
        Assert.Equal($"s3:{newEtag}", newIdentity);
        Assert.NotEqual(identity, newIdentity);
        Assert.Equal((200, 100, true), Images.Describe((await kit.GetAsync("out/a.png")).Body));
    }

    [Fact]
    public async Task Given_a_source_rewritten_after_its_claim_When_invoked_under_the_old_key_Then_it_fails_transiently()
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "claimed");
        await kit.PutAsync("in/a.jpg", Images.Jpeg(), "image/jpeg");
        var function = Function(kit);
        Job job = NewJob($"s3://{kit.Bucket}/in/a.jpg", $"s3://{kit.Bucket}/out/a.png");
        string claimed = $"{job.Key}#{await function.GetSourceIdentityAsync(job, CancellationToken.None)}";
        await kit.PutAsync("in/a.jpg", Images.Jpeg(100, 100), "image/jpeg");

        var ex = await Assert.ThrowsAsync<ObjectChangedException>(async () =>
            await function.InvokeAsync(job, new InvocationContext("m-1", 1, 1, claimed), CancellationToken.None));

        Assert.Contains("changed since this attempt was claimed", ex.Message, StringComparison.Ordinal);
        Assert.False(await kit.ExistsAsync("out/a.png"));
    }

    [Fact]
    public async Task Given_a_source_over_the_size_limit_When_identified_or_invoked_Then_it_fails_permanently_naming_both_sizes()
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "size");
        await kit.PutAsync("in/big.jpg", new byte[5000], "image/jpeg");
        var function = Function(kit, new S3BackgroundRemovalOptions { MaxSourceBytes = 4096 });
        Job job = NewJob($"s3://{kit.Bucket}/in/big.jpg", null);

        var identify = await Assert.ThrowsAsync<SourceTooLargeException>(async () => await function.GetSourceIdentityAsync(job, CancellationToken.None));
        var invoke = await Assert.ThrowsAsync<SourceTooLargeException>(async () => await InvokeAsync(function, job));

        string expected = $"source 's3://{kit.Bucket}/in/big.jpg' is 5,000 bytes, over the limit of 4,096 bytes";
        Assert.Equal(expected, identify.Message);
        Assert.Equal(expected, invoke.Message);
        Assert.False(await kit.ExistsAsync("cutouts/in/big.png"));
    }

    [Fact]
    public async Task Given_buckets_off_the_allow_list_When_a_job_names_them_Then_source_and_destination_are_refused_by_name()
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "allowfn");
        await kit.PutAsync("in/a.jpg", Images.Jpeg(), "image/jpeg");
        var function = Function(kit);

        var source = await Assert.ThrowsAsync<BucketNotAllowedException>(async () =>
            await function.GetSourceIdentityAsync(NewJob("s3://not-mine/in/a.jpg", $"s3://{kit.Bucket}/out.png"), CancellationToken.None));
        var destination = await Assert.ThrowsAsync<BucketNotAllowedException>(async () =>
            await InvokeAsync(function, NewJob($"s3://{kit.Bucket}/in/a.jpg", "s3://not-mine/out.png")));

        Assert.Equal($"bucket 'not-mine' is not in the allow-list ({kit.Bucket})", source.Message);
        Assert.Equal($"bucket 'not-mine' is not in the allow-list ({kit.Bucket})", destination.Message);
    }

    [Fact]
    public async Task Given_a_missing_source_When_identified_Then_it_fails_permanently_saying_it_does_not_exist()
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "missing");
        var function = Function(kit);

        var ex = await Assert.ThrowsAsync<ObjectNotFoundException>(async () =>
            await function.GetSourceIdentityAsync(NewJob($"s3://{kit.Bucket}/in/none.jpg", null), CancellationToken.None));

        Assert.Equal($"source 's3://{kit.Bucket}/in/none.jpg' does not exist", ex.Message);
    }

    [Theory]
    [InlineData("s3://", "source 's3://' has no bucket")]
    [InlineData("s3://bucket", "source 's3://bucket' has no key")]
    [InlineData("s3://Bad_Bucket/a.jpg", "source 's3://Bad_Bucket/a.jpg' has a bad bucket name")]
    public async Task Given_a_malformed_source_uri_When_identified_Then_it_fails_permanently_naming_the_value(string source, string expected)
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "malformed");
        var function = Function(kit);

        var ex = await Assert.ThrowsAsync<InvalidLocationException>(async () => await function.GetSourceIdentityAsync(NewJob(source, null), CancellationToken.None));

        Assert.StartsWith(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("truncated.jpg", "image data is truncated (JPEG ends early)")]
    [InlineData("random.png", "not a recognised image (expected JPEG, PNG or WebP); it starts with")]
    [InlineData("prices.jpg", "not a recognised image (expected JPEG, PNG or WebP); it starts with")]
    [InlineData("empty.jpg", "file is empty (0 bytes)")]
    public async Task Given_a_poison_image_in_s3_When_invoked_Then_it_fails_permanently_with_a_clear_reason_and_nothing_is_written(string name, string reason)
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "poison");
        byte[] body = name switch
        {
            "truncated.jpg" => Images.TruncatedJpeg(),
            "random.png" => Images.RandomBytes(),
            "prices.jpg" => Images.Text(),
            _ => [],
        };
        await kit.PutAsync($"in/{name}", body, "image/jpeg");
        var function = Function(kit);

        var ex = await Assert.ThrowsAsync<PermanentJobException>(async () =>
            await InvokeAsync(function, NewJob($"s3://{kit.Bucket}/in/{name}", $"s3://{kit.Bucket}/out/{name}.png")));

        Assert.StartsWith($"s3://{kit.Bucket}/in/{name}: {reason}", ex.Message, StringComparison.Ordinal);
        Assert.False(await kit.ExistsAsync($"out/{name}.png"));
    }

    [CompositesFact]
    public async Task Given_a_real_photo_in_s3_When_invoked_as_a_mask_Then_a_grey_png_of_the_same_size_is_written()
    {
        string photo = Directory.EnumerateFiles(Images.CompositesFolder()!, "*.jpg").Order(StringComparer.Ordinal).First();
        byte[] bytes = await File.ReadAllBytesAsync(photo);
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "photo");
        await kit.PutAsync("in/photo.jpg", bytes, "image/jpeg");
        var function = Function(kit);
        Job job = JsonJobDecoder.TryCreate(null, $"s3://{kit.Bucket}/in/photo.jpg", null, "mask", null, out Job? decoded, out string? error)
            ? decoded! : throw new InvalidOperationException(error);

        JobOutput output = await InvokeAsync(function, job);

        var written = await kit.GetAsync("cutouts/in/photo.png");
        Assert.Equal($"s3://{kit.Bucket}/cutouts/in/photo.png", output.Location);
        Assert.Equal("image/png", written.ContentType);
        var (width, height, _) = Images.Describe(bytes);
        Assert.Equal((width, height, true), Images.Describe(written.Body));
    }

    [Fact]
    public async Task Given_the_router_When_jobs_mix_s3_and_local_paths_or_name_a_local_path_without_file_roots_Then_each_fails_permanently()
    {
        using S3TestKit kit = await S3TestKit.CreateAsync(emulator, "router");
        await kit.PutAsync("in/a.jpg", Images.Jpeg(), "image/jpeg");
        var router = new BackgroundRemovalFunction(Function(kit), files: null);

        var mixed = await Assert.ThrowsAsync<InvalidLocationException>(async () =>
            await router.GetSourceIdentityAsync(NewJob($"s3://{kit.Bucket}/in/a.jpg", "out/a.png"), CancellationToken.None));
        var local = await Assert.ThrowsAsync<InvalidLocationException>(async () =>
            await router.GetSourceIdentityAsync(NewJob("photos/a.jpg", null), CancellationToken.None));
        string? identity = await router.GetSourceIdentityAsync(NewJob($"s3://{kit.Bucket}/in/a.jpg", null), CancellationToken.None);

        Assert.Equal($"destination 'out/a.png' must be an s3:// URI when the source is one ('s3://{kit.Bucket}/in/a.jpg')", mixed.Message);
        Assert.Equal("source 'photos/a.jpg' is not an s3:// URI; local file paths are accepted in local mode only", local.Message);
        Assert.StartsWith("s3:\"", identity, StringComparison.Ordinal);
    }

    private S3BackgroundRemovalFunction Function(S3TestKit kit, S3BackgroundRemovalOptions? options = null) =>
        new(kit.Store(), new BackgroundRemover(model.Model), options);

    private static async Task<JobOutput> InvokeAsync(IJobFunction function, Job job)
    {
        string? identity = await function.GetSourceIdentityAsync(job, CancellationToken.None);
        return await function.InvokeAsync(job, new InvocationContext("m-1", 1, 1, $"{job.Key}#{identity}"), CancellationToken.None);
    }

    private static Job NewJob(string source, string? destination) =>
        JsonJobDecoder.TryCreate(null, source, destination, null, null, out Job? job, out string? error) ? job! : throw new InvalidOperationException(error);
}

[Collection(EmulatorCollections.Moto)]
public sealed class S3BackgroundRemovalFunctionOnMoto(MotoFixture f, ModelFixture m) : S3BackgroundRemovalFunctionContract(f, m), IClassFixture<ModelFixture>;

[Collection(EmulatorCollections.Fauxqs)]
public sealed class S3BackgroundRemovalFunctionOnFauxqs(FauxqsFixture f, ModelFixture m) : S3BackgroundRemovalFunctionContract(f, m), IClassFixture<ModelFixture>;
