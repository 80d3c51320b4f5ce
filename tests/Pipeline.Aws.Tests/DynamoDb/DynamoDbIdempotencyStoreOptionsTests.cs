using System.Net;
using System.Net.Sockets;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Pipeline.Aws.DynamoDb;
using Pipeline.Core.Idempotency;

namespace Pipeline.Aws.Tests.DynamoDb;

public sealed class DynamoDbIdempotencyStoreOptionsTests
{
    [Fact]
    public void GivenDefaults_WhenValidating_ThenDocumentedValues()
    {
        var options = new DynamoDbIdempotencyStoreOptions().Validate();

        Assert.Equal(
            ("bgpipe-idempotency", TimeSpan.FromDays(7), TimeSpan.FromDays(14), 16, false, 100),
            (options.TableName, options.CompletedRetention, options.FailedRetention, options.MaxParallelRequests, options.UseTransactions, options.TransactionItems));
    }

    public static TheoryData<DynamoDbIdempotencyStoreOptions, string> BadOptions() => new()
    {
        { new() { TableName = "x" }, "table name" },
        { new() { CompletedRetention = TimeSpan.FromMilliseconds(500) }, nameof(DynamoDbIdempotencyStoreOptions.CompletedRetention) },
        { new() { FailedRetention = TimeSpan.FromDays(4000) }, nameof(DynamoDbIdempotencyStoreOptions.FailedRetention) },
        { new() { MaxParallelRequests = 0 }, nameof(DynamoDbIdempotencyStoreOptions.MaxParallelRequests) },
        { new() { TransactionItems = 101 }, nameof(DynamoDbIdempotencyStoreOptions.TransactionItems) },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void GivenABadSetting_WhenValidating_ThenArgumentExceptionNamesIt(DynamoDbIdempotencyStoreOptions options, string named)
    {
        var error = Assert.Throws<ArgumentException>(() => options.Validate());

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenBadOptions_WhenConstructingTheStore_ThenTheyAreRejected()
    {
        using var client = new AmazonDynamoDBClient(new BasicAWSCredentials("test", "test"), new AmazonDynamoDBConfig { ServiceURL = "http://127.0.0.1:9" });

        Assert.Throws<ArgumentException>(() => new DynamoDbIdempotencyStore(client, new DynamoDbIdempotencyStoreOptions { MaxParallelRequests = -1 }));
    }

    [Fact]
    public async Task GivenAnEndpointThatRefusesConnections_WhenClaiming_ThenIdempotencyStoreUnavailableException()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        using var client = new AmazonDynamoDBClient(
            new BasicAWSCredentials("test", "test"),
            new AmazonDynamoDBConfig { ServiceURL = $"http://127.0.0.1:{port}", AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 });
        var store = new DynamoDbIdempotencyStore(client, new DynamoDbIdempotencyStoreOptions());
        var now = DateTimeOffset.UnixEpoch.AddDays(20_000);

        var error = await Assert.ThrowsAsync<IdempotencyStoreUnavailableException>(async () =>
            await store.TryClaimAsync([new ClaimRequest("k", "o", now.AddMinutes(1), "m")], now, CancellationToken.None));

        Assert.Contains("PutItem (claim) on 'k'", error.Message, StringComparison.Ordinal);
    }
}
