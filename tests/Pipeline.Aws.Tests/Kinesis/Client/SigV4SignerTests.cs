using System.Text;
using Pipeline.Aws.Kinesis.Client;

namespace Pipeline.Aws.Tests.Kinesis.Client;

/// <summary>Vectors from AWS's aws-sig-v4-test-suite (credentials AKIDEXAMPLE, 2015-08-30T12:36:00Z, us-east-1/service).</summary>
public sealed class SigV4SignerTests
{
    private const string AccessKey = "AKIDEXAMPLE";
    private const string SecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    private static readonly DateTimeOffset At = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);
    private static readonly Uri Example = new("https://example.amazonaws.com/");

    [Fact]
    public void Given_the_post_vanilla_vector_When_signed_Then_the_authorization_matches_the_published_one()
    {
        var headers = new Dictionary<string, string>
        {
            ["Host"] = "example.amazonaws.com",
            ["X-Amz-Date"] = SigV4Signer.FormatDate(At),
        };

        var authorization = SigV4Signer.Authorization("POST", Example, headers, [], AccessKey, SecretKey, "us-east-1", "service", At);

        Assert.Equal(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
            + "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
            authorization);
    }

    [Fact]
    public void Given_the_post_x_www_form_urlencoded_vector_When_signed_Then_the_body_and_content_type_are_signed_as_published()
    {
        var headers = new Dictionary<string, string>
        {
            ["Content-Type"] = "application/x-www-form-urlencoded",
            ["Host"] = "example.amazonaws.com",
            ["X-Amz-Date"] = "20150830T123600Z",
        };
        var body = Encoding.UTF8.GetBytes("Param1=value1");

        var canonical = SigV4Signer.CanonicalRequest("POST", Example, headers, body, out var signed);
        var authorization = SigV4Signer.Authorization("POST", Example, headers, body, AccessKey, SecretKey, "us-east-1", "service", At);

        Assert.Equal("content-type;host;x-amz-date", signed);
        Assert.Equal(
            "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            + "content-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
            canonical);
        Assert.EndsWith("Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a", authorization, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_query_in_any_order_When_canonicalised_Then_parameters_are_sorted()
    {
        var headers = new Dictionary<string, string> { ["host"] = "example.amazonaws.com", ["x-amz-date"] = "20150830T123600Z" };
        var uri = new Uri("https://example.amazonaws.com/?Param2=value2&Param1=value1");

        var authorization = SigV4Signer.Authorization("GET", uri, headers, [], AccessKey, SecretKey, "us-east-1", "service", At);

        // get-vanilla-query-order-key-case
        Assert.EndsWith("Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500", authorization, StringComparison.Ordinal);
    }
}
