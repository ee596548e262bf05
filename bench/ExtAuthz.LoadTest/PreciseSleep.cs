using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ExtAuthz.LoadTest;

/// <summary>
/// Sleeping until a Stopwatch timestamp with sub-millisecond resolution. Thread.Sleep and .NET timers
/// wake at best about every millisecond, while 5,000 checks/s are due every 200 µs; spinning instead
/// would take one of the two cores the servers need. On Linux and macOS <c>nanosleep</c> wakes within
/// the kernel's timer slack (50 µs by default on Linux); elsewhere this falls back to Thread.Sleep.
/// </summary>
internal static partial class PreciseSleep
{
    public static void Until(long timestamp)
    {
        var remaining = timestamp - Stopwatch.GetTimestamp();
        if (remaining <= 0)
        {
            return;
        }

        var nanoseconds = (long)(remaining * (1_000_000_000.0 / Stopwatch.Frequency));
        if (OperatingSystem.IsWindows())
        {
            Thread.Sleep(TimeSpan.FromTicks(Math.Max(nanoseconds / 100, TimeSpan.TicksPerMillisecond)));
            return;
        }

        var request = new Timespec { Seconds = (nint)(nanoseconds / 1_000_000_000), Nanoseconds = (nint)(nanoseconds % 1_000_000_000) };

        // An interrupted sleep (EINTR) returns early; the caller re-checks the clock and sleeps again.
        _ = NanoSleep(in request, 0);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public nint Seconds;
        public nint Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "nanosleep")]
    private static partial int NanoSleep(in Timespec request, nint remaining);
}
