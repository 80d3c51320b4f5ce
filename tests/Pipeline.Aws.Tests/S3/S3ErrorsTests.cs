using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;
using Pipeline.Aws.S3;
using Pipeline.Core.Invocation;
using Pipeline.Core.Storage;

namespace Pipeline.Aws.Tests.S3;

public sealed class S3ErrorsTests
{
    [Theory]
    [InlineData(HttpStatusCode.ServiceUnavailable, "SlowDown")]
    [InlineData(HttpStatusCode.InternalServerError, "InternalError")]
    [InlineData(HttpStatusCode.TooManyRequests, "TooManyRequests")]
    [InlineData(HttpStatusCode.BadRequest, "RequestTimeout")]
    [InlineData(HttpStatusCode.BadRequest, "ExpiredToken")]
    [InlineData(HttpStatusCode.Conflict, "ConditionalRequestConflict")]
    public void Given_throttling_or_a_server_error_When_mapped_Then_it_is_transient(HttpStatusCode status, string code)
    {
        Exception? mapped = S3Errors.Map(Error(status, code), "read 's3://b/k'", CancellationToken.None);

        var transient = Assert.IsType<StorageUnavailableException>(mapped);
        Assert.IsAssignableFrom<TransientJobException>(transient);
        Assert.StartsWith($"could not read 's3://b/k': {(int)status} {code}", transient.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(HttpStatusCode.NotFound, "NoSuchKey", typeof(ObjectNotFoundException), "it does not exist")]
    [InlineData(HttpStatusCode.NotFound, "NoSuchBucket", typeof(ObjectNotFoundException), "its bucket does not exist")]
    [InlineData(HttpStatusCode.Forbidden, "AccessDenied", typeof(ObjectAccessDeniedException), "access denied (403 AccessDenied")]
    [InlineData(HttpStatusCode.BadRequest, "InvalidArgument", typeof(ObjectAccessDeniedException), "S3 refused it (400 InvalidArgument")]
    public void Given_a_refusal_no_retry_fixes_When_mapped_Then_it_is_permanent(HttpStatusCode status, string code, Type expected, string reason)
    {
        Exception? mapped = S3Errors.Map(Error(status, code), "read 's3://b/k'", CancellationToken.None);

        Assert.IsType(expected, mapped);
        Assert.IsAssignableFrom<PermanentJobException>(mapped);
        Assert.StartsWith($"could not read 's3://b/k': {reason}", mapped!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_cancellation_by_the_caller_When_mapped_Then_it_is_left_alone()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        Assert.Null(S3Errors.Map(new OperationCanceledException(cts.Token), "read", cts.Token));
        Assert.IsType<StorageUnavailableException>(S3Errors.Map(new TaskCanceledException("timed out"), "read", CancellationToken.None));
    }

    [Fact]
    public async Task Given_an_endpoint_that_refuses_connections_When_a_source_is_headed_Then_the_failure_is_transient()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var config = AwsEndpoint.At(new Uri($"http://127.0.0.1:{port}")).Configure(new AmazonS3Config { ForcePathStyle = true, MaxErrorRetry = 0 });
        using var s3 = new AmazonS3Client(new BasicAWSCredentials("test", "test"), config);
        var store = new S3ObjectStore(s3, new S3ObjectStoreOptions { AllowedBuckets = ["photos"] });

        var ex = await Assert.ThrowsAsync<StorageUnavailableException>(async () => await store.HeadAsync(new S3Uri("photos", "a.jpg"), CancellationToken.None));

        Assert.StartsWith("could not HEAD 's3://photos/a.jpg': ", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("; will retry", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_bad_store_options_When_built_Then_each_is_refused_naming_the_value()
    {
        var empty = Assert.Throws<ArgumentException>(() => new S3ObjectStoreOptions { AllowedBuckets = [] });
        var bad = Assert.Throws<ArgumentException>(() => new S3ObjectStoreOptions { AllowedBuckets = ["ok-bucket", "Bad_Bucket"] });
        Assert.Throws<ArgumentOutOfRangeException>(() => new S3ObjectStoreOptions { AllowedBuckets = ["abc"], ListPageSize = 1001 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new S3ObjectStoreOptions { AllowedBuckets = ["abc"], ConditionalWrites = (ConditionalWrites)7 });

        Assert.StartsWith("the bucket allow-list is empty", empty.Message, StringComparison.Ordinal);
        Assert.StartsWith("allow-list bucket 'Bad_Bucket' may hold only", bad.Message, StringComparison.Ordinal);
        Assert.Equal(["a-b", "z-b"], new S3ObjectStoreOptions { AllowedBuckets = ["z-b", "a-b", "z-b"] }.AllowedBuckets);
    }

    private static AmazonS3Exception Error(HttpStatusCode status, string code) =>
        new("message from S3", null, ErrorType.Sender, code, "req-1", status);
}
