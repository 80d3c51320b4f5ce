namespace Pipeline.Core.Sources.Streams;

/// <summary>
/// Kinesis sequence numbers: decimal strings of up to 128 bits whose length varies, so they compare by length first,
/// then digit by digit (no leading zeros). "49590338271490256608559692538361571095921575989136588898" is one.
/// </summary>
public static class SequenceNumbers
{
    public static int Compare(string left, string right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        return left.Length != right.Length ? left.Length.CompareTo(right.Length) : string.CompareOrdinal(left, right);
    }

    /// <summary>True for a non-empty run of ASCII digits without a leading zero (or "0" itself).</summary>
    public static bool IsValid(string? value) =>
        !string.IsNullOrEmpty(value) && value.All(char.IsAsciiDigit) && (value.Length == 1 || value[0] != '0');
}
