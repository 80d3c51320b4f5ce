using Microsoft.Extensions.Logging;

namespace Pipeline.Lambda.Hosting;

/// <summary>
/// One line per log entry on stderr, which Lambda forwards to CloudWatch Logs. Small on purpose: the console logging
/// package is not a dependency, and the function logs little.
/// </summary>
internal sealed class StderrLoggerProvider(LogLevel minimum) : ILoggerProvider
{
    private static readonly Lock Gate = new();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, minimum);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            string line = $"{logLevel} {category}: {formatter(state, exception)}";
            lock (Gate)
            {
                Console.Error.WriteLine(line);
            }
        }
    }
}
