using System.Globalization;
using Amazon.DynamoDBv2.Model;
using Pipeline.Core.Idempotency;

namespace Pipeline.Aws.DynamoDb;

/// <summary>
/// How an <see cref="IdempotencyRecord"/> is laid out as a DynamoDB item. Times the claim rule compares are Unix
/// milliseconds (as in the SQLite store); <c>expiration</c> is epoch seconds because DynamoDB's TTL reads seconds.
/// </summary>
internal static class IdempotencyItem
{
    public const string Id = IdempotencyTableSchema.KeyAttribute;
    public const string Status = "status";
    public const string Owner = "owner";
    public const string LeaseExpiry = "in_progress_expiration";
    public const string MessageId = "message_id";
    public const string ResultLocation = "result_location";
    public const string FailureReason = "failure_reason";
    public const string Expiration = IdempotencyTableSchema.TtlAttribute;
    public const string UpdatedAt = "updated_at";
    public const string JobKey = IdempotencyTableSchema.JobKeyAttribute;

    /// <summary>A random value per claim attempt: tells the caller's own write (landed, then retried by the SDK) from another's.</summary>
    public const string ClaimToken = "claim_token";

    public const string InProgress = "INPROGRESS";
    public const string Completed = "COMPLETED";
    public const string FailedPermanent = "FAILED_PERMANENT";

    /// <summary>Every attribute name goes through a placeholder: several of ours (status, owner) are reserved words.</summary>
    public static readonly Dictionary<string, string> AllNames = new(StringComparer.Ordinal)
    {
        ["#id"] = Id,
        ["#st"] = Status,
        ["#ow"] = Owner,
        ["#ipx"] = LeaseExpiry,
        ["#msg"] = MessageId,
        ["#res"] = ResultLocation,
        ["#rsn"] = FailureReason,
        ["#exp"] = Expiration,
        ["#upd"] = UpdatedAt,
        ["#jk"] = JobKey,
    };

    public static AttributeValue S(string value) => new() { S = value };

    public static AttributeValue N(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };

    public static Dictionary<string, AttributeValue> Key(string key) => new(StringComparer.Ordinal) { [Id] = S(key) };

    /// <summary>Epoch seconds, rounded up so a record never becomes sweepable before the instant it stands for.</summary>
    public static long ToEpochSecondsCeiling(long unixMs) => unixMs <= 0 ? unixMs / 1000 : ((unixMs - 1) / 1000) + 1;

    /// <summary>Only the names an expression uses: DynamoDB refuses unused placeholders.</summary>
    public static Dictionary<string, string> Names(params string[] placeholders)
    {
        var names = new Dictionary<string, string>(placeholders.Length, StringComparer.Ordinal);
        foreach (var placeholder in placeholders)
        {
            names[placeholder] = AllNames[placeholder];
        }

        return names;
    }

    public static IdempotencyRecord ToRecord(Dictionary<string, AttributeValue> item, string tableName)
    {
        var key = String(item, Id) ?? throw Corrupt(tableName, "?", $"it has no string '{Id}'");
        var statusText = String(item, Status);
        var status = statusText switch
        {
            InProgress => IdempotencyStatus.InProgress,
            Completed => IdempotencyStatus.Completed,
            FailedPermanent => IdempotencyStatus.FailedPermanent,
            _ => throw Corrupt(tableName, key, $"its '{Status}' is '{statusText}', not {InProgress}, {Completed} or {FailedPermanent}"),
        };

        DateTimeOffset? expiry = null;
        if (status == IdempotencyStatus.InProgress)
        {
            var leaseMs = Number(item, LeaseExpiry, tableName, key) ?? throw Corrupt(tableName, key, $"it is {InProgress} without '{LeaseExpiry}'");
            expiry = DateTimeOffset.FromUnixTimeMilliseconds(leaseMs);
        }

        return new IdempotencyRecord(
            key,
            status,
            status == IdempotencyStatus.InProgress ? String(item, Owner) : null,
            expiry,
            String(item, MessageId),
            String(item, ResultLocation),
            String(item, FailureReason))
        {
            JobKey = String(item, JobKey),
            UpdatedAt = Number(item, UpdatedAt, tableName, key) is { } updatedMs ? DateTimeOffset.FromUnixTimeMilliseconds(updatedMs) : null,
        };
    }

    /// <summary>The claim rule, for an item read back after a refused put (dynalite returns no old item).</summary>
    public static bool CanClaim(Dictionary<string, AttributeValue> item, long nowMs, string requestMessageId, string tableName)
    {
        var key = String(item, Id) ?? "?";
        if (Number(item, Expiration, tableName, key) is { } expiration && expiration < nowMs / 1000)
        {
            return true;
        }

        return String(item, Status) switch
        {
            InProgress => (Number(item, LeaseExpiry, tableName, key) ?? long.MinValue) < nowMs,
            FailedPermanent => !string.Equals(String(item, MessageId), requestMessageId, StringComparison.Ordinal),
            _ => false,
        };
    }

    public static string? String(Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var value) ? value.S : null;

    private static long? Number(Dictionary<string, AttributeValue> item, string name, string tableName, string key)
    {
        if (!item.TryGetValue(name, out var value) || value.N is null)
        {
            return null;
        }

        return long.TryParse(value.N, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw Corrupt(tableName, key, $"its '{name}' is '{value.N}', not a whole number");
    }

    private static IdempotencyRecordCorruptException Corrupt(string tableName, string key, string why) =>
        new($"The item '{key}' in idempotency table '{tableName}' is not an idempotency record: {why}.");
}
