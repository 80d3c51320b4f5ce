using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;

namespace Pipeline.Cli.Telemetry;

/// <summary>
/// Exports the mappings' System.Diagnostics.Metrics instruments (PolledEventCount, InvokedEventCount, ...) through
/// OpenTelemetry. <c>--metrics console</c> prints them every interval; <c>none</c> keeps them in process only.
/// </summary>
internal static class MetricsExport
{
    public static readonly string[] Modes = ["none", "console"];

    public static MeterProvider? Start(string mode, TimeSpan interval, params string[] meterNames)
    {
        if (string.Equals(mode, "none", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (!string.Equals(mode, "console", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"--metrics must be one of {string.Join(", ", Modes)} (got '{mode}')", nameof(mode));
        }

        return Sdk.CreateMeterProviderBuilder()
            .AddMeter(meterNames)
            .AddConsoleExporter((ConsoleExporterOptions _, MetricReaderOptions reader) =>
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)interval.TotalMilliseconds)
            .Build();
    }
}
