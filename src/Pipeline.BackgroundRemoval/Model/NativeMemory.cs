using System.Runtime.InteropServices;

namespace Pipeline.BackgroundRemoval.Model;

/// <summary>
/// Gives freed native memory back to the OS after each inference. Without it glibc keeps the ~150 MB of activations
/// that a U²-Net run frees in its per-thread heaps, and a long backlog's RSS drifts upward. A no-op off glibc.
/// </summary>
internal static partial class NativeMemory
{
    private static bool _unavailable = !OperatingSystem.IsLinux();

    public static void Trim()
    {
        if (_unavailable)
        {
            return;
        }

        try
        {
            _ = MallocTrim(0);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true; // musl and other libcs have no malloc_trim
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
