using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Pipeline.Aws.Kinesis.Client;

/// <summary>
/// AWS Signature Version 4 for header-signed requests. AWSSDK.Core's AWS4Signer only signs its internal IRequest, so
/// this is the compact form of the same algorithm (canonical request, string to sign, HMAC chain), checked against the
/// published aws-sig-v4-test-suite vectors.
/// </summary>
internal static class SigV4Signer
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>
    /// The Authorization header value. <paramref name="headers"/> are every header to sign, host and x-amz-date
    /// (formatted from <paramref name="at"/>) included; names are lower-cased and sorted here.
    /// </summary>
    public static string Authorization(
        string method,
        Uri uri,
        IEnumerable<KeyValuePair<string, string>> headers,
        ReadOnlySpan<byte> payload,
        string accessKey,
        string secretKey,
        string region,
        string service,
        DateTimeOffset at)
    {
        var stamp = at.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var date = stamp[..8];
        var canonical = CanonicalRequest(method, uri, headers, payload, out var signedHeaders);
        var scope = $"{date}/{region}/{service}/aws4_request";
        var stringToSign = $"{Algorithm}\n{stamp}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))}";

        var key = Hmac(Encoding.UTF8.GetBytes("AWS4" + secretKey), date);
        key = Hmac(key, region);
        key = Hmac(key, service);
        key = Hmac(key, "aws4_request");
        var signature = Hex(Hmac(key, stringToSign));
        return $"{Algorithm} Credential={accessKey}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}";
    }

    public static string FormatDate(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    internal static string CanonicalRequest(
        string method, Uri uri, IEnumerable<KeyValuePair<string, string>> headers, ReadOnlySpan<byte> payload, out string signedHeaders)
    {
        var sorted = headers
            .GroupBy(h => h.Key.ToLowerInvariant(), StringComparer.Ordinal)
            .Select(g => (Name: g.Key, Value: string.Join(',', g.Select(h => CollapseSpaces(h.Value)))))
            .OrderBy(h => h.Name, StringComparer.Ordinal)
            .ToList();
        signedHeaders = string.Join(';', sorted.Select(h => h.Name));

        var builder = new StringBuilder();
        builder.Append(method).Append('\n');
        builder.Append(string.IsNullOrEmpty(uri.AbsolutePath) ? "/" : uri.AbsolutePath).Append('\n');
        builder.Append(CanonicalQuery(uri.Query)).Append('\n');
        foreach (var (name, value) in sorted)
        {
            builder.Append(name).Append(':').Append(value).Append('\n');
        }

        builder.Append('\n').Append(signedHeaders).Append('\n');
        builder.Append(Hex(SHA256.HashData(payload)));
        return builder.ToString();
    }

    // The query is taken as already URI-encoded (this client only ever posts to "/" without one).
    private static string CanonicalQuery(string query)
    {
        if (string.IsNullOrEmpty(query) || query == "?")
        {
            return string.Empty;
        }

        return string.Join('&', query.TrimStart('?')
            .Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Contains('=', StringComparison.Ordinal) ? p : p + "=")
            .Order(StringComparer.Ordinal));
    }

    private static string CollapseSpaces(string value)
    {
        var trimmed = value.Trim();
        var builder = new StringBuilder(trimmed.Length);
        var previousSpace = false;
        foreach (var c in trimmed)
        {
            var space = c == ' ';
            if (!(space && previousSpace))
            {
                builder.Append(c);
            }

            previousSpace = space;
        }

        return builder.ToString();
    }

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
