using Pipeline.Core.Sources.Embedded;

namespace Pipeline.Core.Tests.Sources.Embedded;

public sealed class EmbeddedQueueOptionsTests
{
    [Fact]
    public void Given_default_options_When_read_Then_they_match_the_documented_defaults()
    {
        var options = new EmbeddedQueueOptions();

        Assert.Equal("jobs", options.Name);
        Assert.Equal(TimeSpan.FromSeconds(30), options.VisibilityTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), options.ReceiveWaitTime);
        Assert.Equal(5, options.MaxReceiveCount);
        Assert.Equal(262_144, options.MaximumMessageSize);
        options.Validate();
    }

    [Fact]
    public void Given_values_at_the_edges_of_every_range_When_validating_Then_they_are_accepted()
    {
        new EmbeddedQueueOptions
        {
            Name = "q",
            VisibilityTimeout = TimeSpan.Zero,
            ReceiveWaitTime = TimeSpan.Zero,
            MaxReceiveCount = 1,
            MaximumMessageSize = 1_024,
        }.Validate();
        new EmbeddedQueueOptions
        {
            VisibilityTimeout = TimeSpan.FromHours(12),
            ReceiveWaitTime = TimeSpan.FromSeconds(20),
            MaxReceiveCount = 1000,
            MaximumMessageSize = 1_048_576,
        }.Validate();
    }

    [Theory]
    [InlineData("visibility below 0", "VisibilityTimeout", "between 0 s and 12 h")]
    [InlineData("visibility above 12 h", "VisibilityTimeout", "between 0 s and 12 h")]
    [InlineData("wait below 0", "ReceiveWaitTime", "between 0 s and 20 s")]
    [InlineData("wait above 20 s", "ReceiveWaitTime", "between 0 s and 20 s")]
    [InlineData("max receive count 0", "MaxReceiveCount", "between 1 and 1000")]
    [InlineData("max receive count 1001", "MaxReceiveCount", "between 1 and 1000")]
    [InlineData("size 1023", "MaximumMessageSize", "between 1,024 and 1,048,576 bytes")]
    [InlineData("size 1048577", "MaximumMessageSize", "between 1,024 and 1,048,576 bytes")]
    public void Given_a_setting_out_of_range_When_validating_Then_the_error_names_the_setting_and_its_range(string scenario, string property, string range)
    {
        EmbeddedQueueOptions options = scenario switch
        {
            "visibility below 0" => new() { VisibilityTimeout = TimeSpan.FromSeconds(-1) },
            "visibility above 12 h" => new() { VisibilityTimeout = TimeSpan.FromHours(12) + TimeSpan.FromTicks(1) },
            "wait below 0" => new() { ReceiveWaitTime = TimeSpan.FromSeconds(-1) },
            "wait above 20 s" => new() { ReceiveWaitTime = TimeSpan.FromSeconds(21) },
            "max receive count 0" => new() { MaxReceiveCount = 0 },
            "max receive count 1001" => new() { MaxReceiveCount = 1001 },
            "size 1023" => new() { MaximumMessageSize = 1_023 },
            "size 1048577" => new() { MaximumMessageSize = 1_048_577 },
            _ => throw new ArgumentOutOfRangeException(nameof(scenario), scenario, "unknown scenario"),
        };

        var ex = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);

        Assert.Equal(property, ex.ParamName);
        Assert.Contains(property, ex.Message, StringComparison.Ordinal);
        Assert.Contains(range, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Given_an_empty_name_When_validating_Then_the_error_names_the_setting(string name)
    {
        var ex = Assert.Throws<ArgumentException>(new EmbeddedQueueOptions { Name = name }.Validate);

        Assert.Equal("Name", ex.ParamName);
        Assert.Contains("Name must be a non-empty", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_invalid_options_When_constructing_a_queue_Then_they_are_refused()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(
            () => new EmbeddedQueue(new EmbeddedQueueOptions { MaxReceiveCount = 0 }, QueueTestKit.NewClock()));

        Assert.Equal("MaxReceiveCount", ex.ParamName);
    }
}
