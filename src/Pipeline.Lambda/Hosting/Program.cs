using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Pipeline.Lambda.Hosting;

// Lambda sends SIGTERM before it freezes or shuts an environment down; end the loop cleanly then.
using var shutdown = new CancellationTokenSource();
using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    shutdown.Cancel();
});

using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddProvider(new StderrLoggerProvider(LogLevel.Information)));
return await LambdaHost.RunAsync(Environment.GetEnvironmentVariable, TimeProvider.System, loggers, shutdown.Token).ConfigureAwait(false);
