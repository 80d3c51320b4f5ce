using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Pipeline.Testing.Emulators;

/// <summary>
/// One emulator process listening on 127.0.0.1 at a free port. Started by a fixture, killed (with its children) on
/// dispose. Its output is kept so a failed start says why.
/// </summary>
public sealed class EmulatorProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private EmulatorProcess(EmulatorKind kind, Process process, int port)
    {
        Kind = kind;
        _process = process;
        Port = port;
    }

    public EmulatorKind Kind { get; }

    public int Port { get; }

    public Uri Endpoint => new($"http://127.0.0.1:{Port}");

    public int ProcessId => _process.Id;

    public string OutputTail => string.Join(Environment.NewLine, _output.TakeLast(40));

    public static async Task<EmulatorProcess> StartAsync(EmulatorKind kind, TimeSpan? startTimeout = null)
    {
        var reason = EmulatorAvailability.WhyUnavailable(kind);
        if (reason is not null)
        {
            throw new InvalidOperationException(reason);
        }

        var port = FreeLoopbackPort();
        var info = Describe(kind, port);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var emulator = new EmulatorProcess(kind, process, port);
        process.OutputDataReceived += (_, e) => emulator.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => emulator.Keep(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            await emulator.WaitUntilListeningAsync(startTimeout ?? TimeSpan.FromSeconds(60));
        }
        catch
        {
            await emulator.DisposeAsync();
            throw;
        }

        return emulator;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        catch (TimeoutException)
        {
            // The kernel will reap it; nothing more a test can do.
        }

        _process.Dispose();
    }

    private static ProcessStartInfo Describe(EmulatorKind kind, int port)
    {
        var port_ = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        switch (kind)
        {
            case EmulatorKind.Moto:
            {
                var info = new ProcessStartInfo(EmulatorAvailability.MotoServerPath!);
                foreach (var arg in new[] { "-H", "127.0.0.1", "-p", port_ })
                {
                    info.ArgumentList.Add(arg);
                }

                return info;
            }

            case EmulatorKind.Fauxqs:
            {
                var info = Node("fauxqs/dist/cli.js");
                info.Environment["FAUXQS_PORT"] = port_;
                info.Environment["FAUXQS_HOST"] = "127.0.0.1";
                info.Environment["FAUXQS_LOGGER"] = "false";
                return info;
            }

            case EmulatorKind.Dynalite:
            {
                // No simulated CREATING/DELETING delays (500 ms by default): tests create a table each.
                var info = Node("dynalite/cli.js");
                foreach (var arg in new[] { "--port", port_, "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0" })
                {
                    info.ArgumentList.Add(arg);
                }

                return info;
            }

            case EmulatorKind.Kinesalite:
            {
                var info = Node("kinesalite/cli.js");
                foreach (var arg in new[] { "--port", port_, "--shardLimit", "1000", "--createStreamMs", "0", "--deleteStreamMs", "0", "--updateStreamMs", "0" })
                {
                    info.ArgumentList.Add(arg);
                }

                return info;
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    private static ProcessStartInfo Node(string script)
    {
        // The preload pins listen() to 127.0.0.1: fauxqs and kinesalite bind every interface and have no host flag.
        var info = new ProcessStartInfo("node");
        info.ArgumentList.Add("--require");
        info.ArgumentList.Add(Path.Combine(EmulatorAvailability.EmulatorsDirectory, "bind-loopback.cjs"));
        info.ArgumentList.Add(Path.Combine(EmulatorAvailability.EmulatorsDirectory, "node_modules", script));
        info.WorkingDirectory = EmulatorAvailability.EmulatorsDirectory;
        return info;
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 200 && _output.TryDequeue(out _))
        {
        }
    }

    private async Task WaitUntilListeningAsync(TimeSpan timeout)
    {
        var started = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Kind} exited with code {_process.ExitCode} before listening on 127.0.0.1:{Port}. Output:{Environment.NewLine}{OutputTail}");
            }

            using (var client = new TcpClient())
            {
                try
                {
                    await client.ConnectAsync(IPAddress.Loopback, Port);
                    return;
                }
                catch (SocketException)
                {
                    // Not listening yet.
                }
            }

            if (started.Elapsed > timeout)
            {
                throw new TimeoutException($"{Kind} did not listen on 127.0.0.1:{Port} within {timeout.TotalSeconds} s. Output:{Environment.NewLine}{OutputTail}");
            }

            await Task.Delay(50);
        }
    }
}
