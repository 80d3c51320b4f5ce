using Microsoft.Extensions.Logging;

namespace Pipeline.Cli.Telemetry;

/// <summary>
/// One line per log event on stderr: <c>2026-11-22T10:00:00.000Z warn  SqsRecordSource: message</c>. Exceptions show
/// their type and message, never a stack trace (users read these lines; the message names what went wrong).
/// </summary>
internal sealed class ConsoleLineLoggerProvider(LogLevel minimum, TimeProvider time) : ILoggerProvider
{
    private readonly Lock _gate = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, ShortName(categoryName));

    public void Dispose()
    {
    }

    public static ILoggerFactory CreateFactory(LogLevel minimum) =>
        LoggerFactory.Create(b => b.SetMinimumLevel(minimum).AddProvider(new ConsoleLineLoggerProvider(minimum, TimeProvider.System)));

    private static string ShortName(string category)
    {
        int dot = category.LastIndexOf('.');
        return dot < 0 ? category : category[(dot + 1)..];
    }

    private void Write(LogLevel level, string category, string message, Exception? exception)
    {
        string tag = level switch
        {
            LogLevel.Trace => "trace",
            LogLevel.Debug => "debug",
            LogLevel.Information => "info ",
            LogLevel.Warning => "warn ",
            LogLevel.Error => "error",
            _ => "crit ",
        };
        string line = exception is null
            ? $"{time.GetUtcNow():yyyy-MM-ddTHH:mm:ss.fffZ} {tag} {category}: {message}"
            : $"{time.GetUtcNow():yyyy-MM-ddTHH:mm:ss.fffZ} {tag} {category}: {message} ({exception.GetType().Name}: {exception.Message})";
        lock (_gate)
        {
            Console.Error.WriteLine(line);
        }
    }

    private sealed class Logger(ConsoleLineLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= provider._minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Write(logLevel, category, formatter(state, exception), exception);
            }
        }
    }

    private readonly LogLevel _minimum = minimum;
}
