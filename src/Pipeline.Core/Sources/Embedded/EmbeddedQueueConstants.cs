namespace Pipeline.Core.Sources.Embedded;

/// <summary>SQS's limits, kept in one place so the options, the queue and their messages agree.</summary>
internal static class EmbeddedQueueConstants
{
    public const string DefaultName = "jobs";

    public const string SourcePrefix = "embedded://";

    public const int DefaultMaxReceiveCount = 5;
    public const int MinMaxReceiveCount = 1;
    public const int MaxMaxReceiveCount = 1000;

    public const int DefaultMaximumMessageSize = 262_144;
    public const int MinMaximumMessageSize = 1_024;
    public const int MaxMaximumMessageSize = 1_048_576;

    /// <summary>SQS ReceiveMessage MaxNumberOfMessages.</summary>
    public const int MaxMessagesPerReceive = 10;

    public static readonly TimeSpan DefaultVisibilityTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan MaxVisibilityTimeout = TimeSpan.FromHours(12);

    public static readonly TimeSpan DefaultReceiveWaitTime = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxReceiveWaitTime = TimeSpan.FromSeconds(20);
}
