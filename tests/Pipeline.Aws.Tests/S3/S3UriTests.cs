using Pipeline.Core.Storage;

namespace Pipeline.Aws.Tests.S3;

public sealed class S3UriTests
{
    [Theory]
    [InlineData("s3://photos/a.jpg", "photos", "a.jpg")]
    [InlineData("s3://my.bucket-1/deep/path/a b%20c.jpg", "my.bucket-1", "deep/path/a b%20c.jpg")]
    [InlineData("S3://photos/k", "photos", "k")]
    [InlineData("s3://abc/dir/", "abc", "dir/")]
    public void Given_a_well_formed_uri_When_parsed_Then_bucket_and_key_are_taken_literally(string text, string bucket, string key)
    {
        S3Uri uri = S3Uri.Parse(text);
        Assert.Equal(bucket, uri.Bucket);
        Assert.Equal(key, uri.Key);
        Assert.Equal($"s3://{bucket}/{key}", uri.ToString());
    }

    [Theory]
    [InlineData("s3://", "'s3://' has no bucket")]
    [InlineData("s3:///key", "'s3:///key' has no bucket")]
    [InlineData("s3://bucket", "'s3://bucket' has no key")]
    [InlineData("s3://bucket/", "'s3://bucket/' has no key")]
    [InlineData("s3:/bucket/key", "'s3:/bucket/key' is not an S3 URI")]
    [InlineData("http://bucket/key", "'http://bucket/key' is not an S3 URI")]
    [InlineData("s3://Bucket/key", "bad bucket name: 'Bucket' may hold only lower-case letters")]
    [InlineData("s3://ab/key", "bad bucket name: 'ab' must be 3 to 63 characters long (it has 2)")]
    [InlineData("s3://my_bucket/key", "bad bucket name: 'my_bucket' may hold only")]
    [InlineData("s3://-abc/key", "must start and end with a letter or digit")]
    [InlineData("s3://a..b/key", "must not contain two dots in a row")]
    [InlineData("s3://192.168.1.1/key", "must not be formatted as an IP address")]
    [InlineData("s3://xn--abc/key", "reserved prefix 'xn--'")]
    [InlineData("s3://abc/a\nb", "contains a control character")]
    public void Given_a_malformed_uri_When_parsed_Then_the_error_names_the_value_and_the_problem(string text, string expected)
    {
        var ex = Assert.Throws<InvalidLocationException>(() => S3Uri.Parse(text, "source"));
        Assert.StartsWith("source ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected.Replace("\n", "\\u000a", StringComparison.Ordinal), ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_key_over_1024_bytes_When_parsed_Then_it_is_refused_with_its_size()
    {
        var ex = Assert.Throws<InvalidLocationException>(() => S3Uri.Parse("s3://abc/" + new string('é', 513)));
        Assert.Contains("1,026 bytes of UTF-8, over S3's limit of 1,024", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("s3://b/k", true)]
    [InlineData("S3:whatever", true)]
    [InlineData("photos/a.jpg", false)]
    [InlineData("s3.jpg", false)]
    public void Given_a_location_When_asked_whether_it_is_s3_Then_the_scheme_decides(string location, bool expected) =>
        Assert.Equal(expected, S3Uri.IsS3(location));
}
