using Pipeline.Core.Idempotency;

namespace Pipeline.Core.Tests.Idempotency;

public sealed class OwnerIdentityTests
{
    [Theory]
    [InlineData("worker-1/4242/987654321", null)]
    [InlineData("worker-1/4242/987654321/guard-b", "guard-b")]
    public void GivenOwnerString_WhenParsedAndFormatted_ThenRoundTrips(string text, string? instance)
    {
        var identity = OwnerIdentity.Parse(text);

        Assert.Equal(text, identity.ToString());
        Assert.Equal(new OwnerIdentity("worker-1", 4242, 987654321, instance), identity);
    }

    [Theory]
    [InlineData("")]
    [InlineData("worker-1")]
    [InlineData("worker-1/4242")]
    [InlineData("/4242/1")]
    [InlineData("worker-1/abc/1")]
    [InlineData("worker-1/-5/1")]
    [InlineData("worker-1/0/1")]
    [InlineData("worker-1/4242/-1")]
    [InlineData("worker-1/4242/1/")]
    [InlineData("worker-1/4242/1/a/b")]
    public void GivenMalformedString_WhenTryParsing_ThenFalse(string text)
    {
        Assert.False(OwnerIdentity.TryParse(text, out _));
        Assert.Throws<FormatException>(() => OwnerIdentity.Parse(text));
    }

    [Fact]
    public void GivenThisProcess_WhenAskingForCurrent_ThenNamesThisHostAndProcessAndIsStable()
    {
        var current = OwnerIdentity.Current;

        Assert.Equal(Environment.MachineName, current.Host);
        Assert.Equal(Environment.ProcessId, current.ProcessId);
        Assert.True(current.ProcessStartTicks > 0);
        Assert.Null(current.Instance);
        Assert.Same(current, OwnerIdentity.Current);
        Assert.Equal(current, OwnerIdentity.Parse(current.ToString()));
    }

    [Fact]
    public void GivenCurrent_WhenMakingTwoNewInstances_ThenDistinctOwnersOfTheSameProcess()
    {
        var first = OwnerIdentity.Current.WithNewInstance();
        var second = OwnerIdentity.Current.WithNewInstance();

        Assert.NotEqual(first.ToString(), second.ToString());
        Assert.True(first.IsSameProcess(second));
        Assert.True(first.IsSameProcess(OwnerIdentity.Current));
        Assert.StartsWith(OwnerIdentity.Current + "/", first.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void GivenHostWithSeparator_WhenConstructing_ThenRejected()
    {
        Assert.Throws<ArgumentException>(() => new OwnerIdentity("a/b", 1, 1));
    }
}
