using Amazon.S3;
using Amazon.S3.Model;
using Pipeline.Aws.S3;
using Pipeline.Testing.Emulators;

namespace Pipeline.Aws.Tests.S3;

/// <summary>A fresh bucket (unique name: a collection shares one server) on an emulator, with helpers to put and get.</summary>
internal sealed class S3TestKit : IDisposable
{
    private S3TestKit(IAmazonS3 s3, string bucket)
    {
        Client = s3;
        Bucket = bucket;
    }

    public IAmazonS3 Client { get; }

    public string Bucket { get; }

    public static async Task<S3TestKit> CreateAsync(EmulatorFixture emulator, string purpose)
    {
        IAmazonS3 s3 = emulator.Endpoint.CreateS3();
        string bucket = NewBucketName(purpose);
        await s3.PutBucketAsync(bucket);
        return new S3TestKit(s3, bucket);
    }

    public static string NewBucketName(string purpose) => $"{purpose}-{Guid.NewGuid():N}"[..Math.Min(63, purpose.Length + 33)];

    public S3ObjectStore Store(ConditionalWrites mode = ConditionalWrites.Auto, params string[] moreBuckets) =>
        new(Client, new S3ObjectStoreOptions { AllowedBuckets = [Bucket, .. moreBuckets], ConditionalWrites = mode });

    public async Task<string> PutAsync(string key, byte[] body, string contentType = "application/octet-stream")
    {
        using var stream = new MemoryStream(body);
        var response = await Client.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, InputStream = stream, ContentType = contentType });
        return response.ETag;
    }

    public async Task<(byte[] Body, string ETag, string ContentType, DateTime? LastModified)> GetAsync(string key)
    {
        using GetObjectResponse response = await Client.GetObjectAsync(Bucket, key);
        using var copy = new MemoryStream();
        await response.ResponseStream.CopyToAsync(copy);
        return (copy.ToArray(), response.ETag, response.Headers.ContentType, response.LastModified);
    }

    public async Task<bool> ExistsAsync(string key)
    {
        try
        {
            await Client.GetObjectMetadataAsync(Bucket, key);
            return true;
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    public void Dispose() => Client.Dispose();
}
