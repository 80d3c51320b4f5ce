using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Pipeline.Core.Storage;

/// <summary>
/// An object's address, <c>s3://bucket/key</c>. The key is taken literally, as the AWS CLI does: no percent-decoding,
/// so <c>s3://b/a%20b.jpg</c> names the key <c>a%20b.jpg</c>. Bucket names follow S3's general-purpose naming rules.
/// </summary>
public sealed record S3Uri
{
    /// <summary>The scheme prefix, lower case (a location starting with it in any case is read as an S3 URI).</summary>
    public const string Prefix = "s3://";

    /// <summary>S3's limit on a key: 1,024 bytes of UTF-8.</summary>
    public const int MaxKeyBytes = 1024;

    public S3Uri(string bucket, string key)
    {
        if (BucketProblem(bucket) is { } bucketProblem)
        {
            throw new ArgumentException($"bucket '{bucket}' {bucketProblem}", nameof(bucket));
        }

        if (KeyProblem(key) is { } keyProblem)
        {
            throw new ArgumentException($"key '{key}' {keyProblem}", nameof(key));
        }

        Bucket = bucket;
        Key = key;
    }

    public string Bucket { get; }

    public string Key { get; }

    /// <summary>
    /// Whether a job's location means S3: it starts with <c>s3:</c> in any case. Malformed ones such as <c>s3:/b/k</c>
    /// count too, so they get an S3 error rather than being taken for a local path.
    /// </summary>
    public static bool IsS3(string? location) =>
        location is not null && location.StartsWith("s3:", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses <c>s3://bucket/key</c>; throws <see cref="InvalidLocationException"/> naming the value and what is wrong.</summary>
    public static S3Uri Parse(string location, string role = "location") =>
        TryParse(location, out S3Uri? uri, out string? error) ? uri : throw new InvalidLocationException($"{role} {error}");

    /// <summary>Parses <c>s3://bucket/key</c>; on failure <paramref name="error"/> names the value, e.g. <c>'s3://b' has no key</c>.</summary>
    public static bool TryParse(string? location, [NotNullWhen(true)] out S3Uri? uri, [NotNullWhen(false)] out string? error)
    {
        uri = null;
        if (string.IsNullOrEmpty(location))
        {
            error = "is empty; expected s3://bucket/key";
            return false;
        }

        string shown = Show(location);
        if (!location.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            error = $"'{shown}' is not an S3 URI; expected s3://bucket/key";
            return false;
        }

        string rest = location[Prefix.Length..];
        int slash = rest.IndexOf('/', StringComparison.Ordinal);
        string bucket = slash < 0 ? rest : rest[..slash];
        string key = slash < 0 ? string.Empty : rest[(slash + 1)..];
        if (bucket.Length == 0)
        {
            error = $"'{shown}' has no bucket; expected s3://bucket/key";
            return false;
        }

        if (BucketProblem(bucket) is { } bucketProblem)
        {
            error = $"'{shown}' has a bad bucket name: '{Show(bucket)}' {bucketProblem}";
            return false;
        }

        if (key.Length == 0)
        {
            error = $"'{shown}' has no key; expected s3://{bucket}/key";
            return false;
        }

        if (KeyProblem(key) is { } keyProblem)
        {
            error = $"'{shown}' has a bad key: {keyProblem}";
            return false;
        }

        uri = new S3Uri(bucket, key);
        error = null;
        return true;
    }

    /// <summary>
    /// Null when <paramref name="bucket"/> is a valid general-purpose bucket name, otherwise why not: 3 to 63
    /// characters of lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit, no
    /// two dots in a row, not shaped like an IP address, no reserved prefix or suffix.
    /// </summary>
    public static string? BucketProblem(string? bucket)
    {
        if (string.IsNullOrEmpty(bucket))
        {
            return "is empty";
        }

        if (bucket.Length is < 3 or > 63)
        {
            return $"must be 3 to 63 characters long (it has {bucket.Length})";
        }

        foreach (char c in bucket)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-'))
            {
                return $"may hold only lower-case letters, digits, '.' and '-' (found '{Show(c.ToString())}')";
            }
        }

        if (!char.IsAsciiLetterOrDigit(bucket[0]) || !char.IsAsciiLetterOrDigit(bucket[^1]))
        {
            return "must start and end with a letter or digit";
        }

        if (bucket.Contains("..", StringComparison.Ordinal))
        {
            return "must not contain two dots in a row";
        }

        if (System.Net.IPAddress.TryParse(bucket, out _) && bucket.Count(c => c == '.') == 3)
        {
            return "must not be formatted as an IP address";
        }

        foreach (string reserved in (string[])["xn--", "sthree-", "amzn-s3-demo-"])
        {
            if (bucket.StartsWith(reserved, StringComparison.Ordinal))
            {
                return $"must not start with the reserved prefix '{reserved}'";
            }
        }

        foreach (string reserved in (string[])["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"])
        {
            if (bucket.EndsWith(reserved, StringComparison.Ordinal))
            {
                return $"must not end with the reserved suffix '{reserved}'";
            }
        }

        return null;
    }

    /// <summary>Null when <paramref name="key"/> can name an object, otherwise why not.</summary>
    public static string? KeyProblem(string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return "is empty";
        }

        int bytes = Encoding.UTF8.GetByteCount(key);
        if (bytes > MaxKeyBytes)
        {
            return $"is {bytes:N0} bytes of UTF-8, over S3's limit of {MaxKeyBytes:N0}";
        }

        // S3 allows control characters, but they do not survive XML listings and are never meant.
        return key.Any(char.IsControl) ? $"'{Show(key)}' contains a control character" : null;
    }

    /// <summary>The location as it can be shown in one line: control characters escaped.</summary>
    public static string Show(string text)
    {
        if (!text.Any(char.IsControl))
        {
            return text;
        }

        var shown = new StringBuilder(text.Length + 8);
        foreach (char c in text)
        {
            shown.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString());
        }

        return shown.ToString();
    }

    public override string ToString() => $"{Prefix}{Bucket}/{Key}";
}
