using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;

namespace Pipeline.Core.Idempotency;

/// <summary>What a look at a process id found.</summary>
internal enum ProcessProbe
{
    /// <summary>A process with that id runs; its start stamp came back.</summary>
    Running,

    /// <summary>No process with that id exists, or it is a zombie that will never run again.</summary>
    Gone,

    /// <summary>The look failed (permissions, an unsupported platform): nothing can be concluded.</summary>
    Unknown,
}

/// <summary>
/// Reads a start stamp of a process that every process on the host reads alike, so a recorded stamp can later tell
/// the same process from a newer one that reuses its id.
/// </summary>
/// <remarks>
/// On Linux it is the <c>starttime</c> field of <c>/proc/PID/stat</c> (clock ticks since boot). The obvious
/// <see cref="Process.StartTime"/> is unfit there: .NET derives it from the boot time each process computes as
/// "wall clock now minus uptime", which differs a little between processes and a lot after a wall-clock step, so a
/// live owner could look like a different process and have its claim stolen. Elsewhere (Windows, macOS) the kernel
/// keeps an absolute start time and <see cref="Process.StartTime"/> in UTC ticks is exact.
/// </remarks>
internal static class ProcessStartStamp
{
    // Fields after the command name, which is in parentheses and may itself hold spaces and parentheses.
    private const int StateFieldAfterName = 0;
    private const int StartTimeFieldAfterName = 19;

    internal static ProcessProbe Probe(int processId, out long startStamp)
    {
        startStamp = 0;
        if (processId <= 0)
        {
            return ProcessProbe.Gone;
        }

        return OperatingSystem.IsLinux() ? ProbeLinux(processId, out startStamp) : ProbePortable(processId, out startStamp);
    }

    private static ProcessProbe ProbeLinux(int processId, out long startStamp)
    {
        startStamp = 0;
        string stat;
        try
        {
            stat = File.ReadAllText("/proc/" + processId.ToString(CultureInfo.InvariantCulture) + "/stat");
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            // Note: with /proc mounted hidepid=2, other users' processes look gone too; owners are expected to run
            // as the same user, as the pipeline's hosts do.
            return ProcessProbe.Gone;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ProcessProbe.Unknown;
        }

        var nameEnd = stat.LastIndexOf(')');
        if (nameEnd < 0 || nameEnd + 2 >= stat.Length)
        {
            return ProcessProbe.Unknown;
        }

        var fields = stat.AsSpan(nameEnd + 2);
        var index = 0;
        foreach (var range in fields.Split(' '))
        {
            var field = fields[range];
            if (index == StateFieldAfterName && field is "Z" or "X")
            {
                // A zombie has exited and only waits for its parent to reap it.
                return ProcessProbe.Gone;
            }

            if (index == StartTimeFieldAfterName)
            {
                return long.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out startStamp)
                    ? ProcessProbe.Running
                    : ProcessProbe.Unknown;
            }

            index++;
        }

        return ProcessProbe.Unknown;
    }

    private static ProcessProbe ProbePortable(int processId, out long startStamp)
    {
        startStamp = 0;
        try
        {
            using var process = Process.GetProcessById(processId);
            if (process.HasExited)
            {
                return ProcessProbe.Gone;
            }

            startStamp = process.StartTime.ToUniversalTime().Ticks;
            return ProcessProbe.Running;
        }
        catch (ArgumentException)
        {
            // GetProcessById's way of saying that no such process runs.
            return ProcessProbe.Gone;
        }
        catch (InvalidOperationException)
        {
            // It exited between the lookup and the read.
            return ProcessProbe.Gone;
        }
        catch (Exception e) when (e is Win32Exception or NotSupportedException or PlatformNotSupportedException)
        {
            return ProcessProbe.Unknown;
        }
    }
}
