using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Pipeline.Testing;
using Pipeline.BackgroundRemoval.Model;
using Pipeline.Lambda.Tests.Hosting;
using Pipeline.Testing.Elf;
using Pipeline.Testing.Publishing;

namespace Pipeline.Lambda.Tests.Deployment;

/// <summary>
/// The linux-arm64 publish (self-contained, ReadyToRun, as the SAM makefile builds it), once per test class; the
/// linux-x64 one comes from the collection's <see cref="Hosting.PublishedBootstrapFixture"/>.
/// </summary>
public sealed class Arm64PublishFixture : IAsyncLifetime
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), $"bgpipe-lambda-arm64-{Guid.NewGuid():N}");

    public string? Error { get; private set; }

    public async Task InitializeAsync()
    {
        PublishResult publish = await LambdaPublish.RunAsync("linux-arm64", "-p:PublishReadyToRun=true", Directory);
        Error = publish.Succeeded ? null : publish.Output;
    }

    public Task DisposeAsync()
    {
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }

        return Task.CompletedTask;
    }
}

/// <summary>Skips unless qemu-user-static's aarch64 emulator is installed (.ci/run installs Debian's package where it can).</summary>
public sealed class QemuFactAttribute : FactAttribute
{
    public QemuFactAttribute()
    {
        if (Qemu.Path is null)
        {
            Skip = "qemu-aarch64-static is not installed (Debian package qemu-user-static; .ci/run installs it where apt-get can), so the arm64 bootstrap cannot run on this x86-64 machine";
        }
        else if (!File.Exists(Path.Combine(Qemu.Sysroot, "lib", "ld-linux-aarch64.so.1")))
        {
            Skip = $"no arm64 glibc under {Qemu.Sysroot} (Debian packages libc6-arm64-cross, libstdc++6-arm64-cross, libgcc-s1-arm64-cross; .ci/run installs them where apt-get can), so qemu cannot load the arm64 bootstrap";
        }
    }
}

internal static class Qemu
{
    public static string? Path { get; } = new[] { "/usr/bin/qemu-aarch64-static", "/usr/local/bin/qemu-aarch64-static", "/usr/bin/qemu-aarch64" }.FirstOrDefault(File.Exists);

    /// <summary>Debian's arm64 cross runtime (the dynamic loader, glibc, libstdc++), given to qemu with -L.</summary>
    public const string Sysroot = "/usr/aarch64-linux-gnu";
}

[Collection(LambdaCollections.Bootstrap)]
public sealed class PublishedArchitectureTests(PublishedBootstrapFixture x64, Arm64PublishFixture arm64) : IClassFixture<Arm64PublishFixture>
{
    private string Folder(string rid)
    {
        if (rid == "linux-x64")
        {
            return x64.Directory;
        }

        Assert.True(arm64.Error is null, $"dotnet publish -r linux-arm64 failed: {arm64.Error}");
        return arm64.Directory;
    }

    /// <summary>Amazon Linux 2023's glibc: no native library may need a newer symbol version.</summary>
    private static readonly Version Al2023Glibc = new(2, 34);

    [Theory]
    [InlineData("linux-x64", ElfMachine.X86_64)]
    [InlineData("linux-arm64", ElfMachine.AArch64)]
    public void Given_a_publish_for_an_architecture_When_its_ELF_headers_are_read_Then_the_bootstrap_and_every_native_library_carry_that_machine(string rid, ElfMachine machine)
    {
        string folder = Folder(rid);
        string[] natives = [.. Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Where(ElfInfo.IsElf)];

        Assert.Contains(Path.Combine(folder, "bootstrap"), natives);
        Assert.Contains(natives, f => Path.GetFileName(f) == "libonnxruntime.so");
        Assert.Contains(natives, f => Path.GetFileName(f) == "libSkiaSharp.so");
        Assert.Empty(Directory.GetFiles(folder, "onnxruntime*.dll", SearchOption.AllDirectories)); // Windows natives have no place here
        Assert.All(natives, f => Assert.True(ElfInfo.Read(f).Machine == machine, $"{Path.GetRelativePath(folder, f)} is built for e_machine {ElfInfo.Read(f).MachineCode}, not {machine}"));
    }

    [Theory]
    [InlineData("linux-x64")]
    [InlineData("linux-arm64")]
    public void Given_a_publish_for_an_architecture_When_symbol_versions_are_read_Then_no_native_library_needs_a_glibc_newer_than_Amazon_Linux_2023s(string rid)
    {
        string folder = Folder(rid);
        var tooNew = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(ElfInfo.IsElf)
            .Select(ElfInfo.Read)
            .Where(e => e.MaxGlibcVersion is { } v && v > Al2023Glibc)
            .Select(e => $"{Path.GetRelativePath(folder, e.Path)} needs GLIBC_{e.MaxGlibcVersion}")
            .ToList();

        Assert.True(tooNew.Count == 0, $"Amazon Linux 2023 has glibc {Al2023Glibc}: {string.Join("; ", tooNew)}");
        Assert.NotNull(ElfInfo.Read(Path.Combine(folder, "libonnxruntime.so")).MaxGlibcVersion);
    }

    /// <summary>
    /// Runs the arm64 bootstrap under qemu-user as far as the emulator allows: the .NET runtime starts, reads its
    /// configuration and talks to the Runtime API. An event with the model loaded cannot run there: ONNX Runtime's
    /// cpuinfo reads the x86 host's /proc/cpuinfo and /sys/devices/system/cpu through qemu-user and crashes (SIGSEGV)
    /// while the session is created (seen with qemu 7.2 and -cpu max, cortex-a72 and neoverse-n1), so the arm64
    /// event path is proved by the publish checks above and on AWS, not here.
    /// </summary>
    [QemuFact]
    public async Task Given_the_arm64_bootstrap_under_qemu_without_its_model_layer_When_it_starts_Then_it_posts_the_init_error_naming_the_layer_to_the_Runtime_API()
    {
        string folder = Folder("linux-arm64");
        string missing = Path.Combine(Directory.CreateTempSubdirectory("bgpipe-layer-").FullName, "models", "u2netp.onnx");
        int port = FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var info = new ProcessStartInfo(Qemu.Path!, ["-L", Qemu.Sysroot, Path.Combine(folder, "bootstrap")]) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["AWS_LAMBDA_RUNTIME_API"] = $"127.0.0.1:{port}";
        info.Environment["BGPIPE_MODEL_PATH"] = missing;
        info.Environment["BGPIPE_IDEMPOTENCY_TABLE"] = "idempotency";
        info.Environment["BGPIPE_BUCKETS"] = "bgpipe-input,bgpipe-output";
        info.Environment["AWS_REGION"] = "us-east-1";
        using Process process = Process.Start(info)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => output.AppendLine(e.Data);
        process.ErrorDataReceived += (_, e) => output.AppendLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)); // emulated start-up is slow
            Task<HttpListenerContext> next = listener.GetContextAsync();
            if (await Task.WhenAny(next, process.WaitForExitAsync(timeout.Token)) != next)
            {
                timeout.Token.ThrowIfCancellationRequested();
                Assert.Fail($"the arm64 bootstrap exited ({process.ExitCode}) without calling the Runtime API:\n{output}");
            }

            HttpListenerContext context = await next;
            using var reader = new StreamReader(context.Request.InputStream);
            string body = await reader.ReadToEndAsync();
            context.Response.StatusCode = 202;
            context.Response.Close();

            Assert.Equal("/2018-06-01/runtime/init/error", context.Request.Url!.AbsolutePath);
            Assert.Contains($"model not found at {missing}", body, StringComparison.Ordinal);
            await process.WaitForExitAsync(timeout.Token);
            Assert.NotEqual(0, process.ExitCode);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the arm64 bootstrap under qemu did not report within 2 minutes:\n{output}");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
    }

    private static int FreePort()
    {
        using var socket = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
