using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Pipeline.Testing;
using Pipeline.BackgroundRemoval.Model;
using Pipeline.Lambda.Tests.Hosting;
using Pipeline.Testing.Elf;

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
        var info = new ProcessStartInfo("dotnet", $"publish \"{RepositoryRoot.Combine("src", "Pipeline.Lambda", "Pipeline.Lambda.csproj")}\" -c Release -r linux-arm64 --self-contained -p:PublishReadyToRun=true -o \"{Directory}\" -nologo")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            Error = (await stdout) + (await stderr);
        }
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
    }
}

internal static class Qemu
{
    public static string? Path { get; } = new[] { "/usr/bin/qemu-aarch64-static", "/usr/local/bin/qemu-aarch64-static", "/usr/bin/qemu-aarch64" }.FirstOrDefault(File.Exists);
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

    [QemuFact]
    public async Task Given_the_arm64_bootstrap_under_qemu_When_it_gets_one_SQS_event_with_a_bad_body_Then_it_answers_with_that_message_as_a_batch_item_failure()
    {
        string folder = Folder("linux-arm64");
        string layer = Directory.CreateTempSubdirectory("bgpipe-layer-").FullName;
        Directory.CreateDirectory(Path.Combine(layer, "models"));
        string model = ModelLocator.DefaultCandidates().FirstOrDefault(File.Exists) ?? throw new InvalidOperationException($"the model is needed; {ModelLocator.HowToInstall}");
        File.Copy(model, Path.Combine(layer, "models", "u2netp.onnx"));
        int port = FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        string messageId = Guid.NewGuid().ToString();
        string sqsEvent = $$"""{"Records":[{"messageId":"{{messageId}}","receiptHandle":"r","body":"not a job","attributes":{"ApproximateReceiveCount":"1","SentTimestamp":"1700000000000","SenderId":"s","ApproximateFirstReceiveTimestamp":"1700000000000"},"messageAttributes":{},"md5OfBody":"","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:jobs","awsRegion":"us-east-1"}]}""";
        var info = new ProcessStartInfo(Qemu.Path!, Path.Combine(folder, "bootstrap")) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["AWS_LAMBDA_RUNTIME_API"] = $"127.0.0.1:{port}";
        info.Environment["BGPIPE_MODEL_PATH"] = Path.Combine(layer, "models", "u2netp.onnx");
        info.Environment["BGPIPE_IDEMPOTENCY_TABLE"] = "unused";
        info.Environment["BGPIPE_BUCKETS"] = "unused-in,unused-out";
        info.Environment["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9";
        info.Environment["AWS_ACCESS_KEY_ID"] = "test";
        info.Environment["AWS_SECRET_ACCESS_KEY"] = "test";
        info.Environment["AWS_REGION"] = "us-east-1";
        using Process process = Process.Start(info)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => output.AppendLine(e.Data);
        process.ErrorDataReceived += (_, e) => output.AppendLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3)); // emulated start-up is slow
            while (true)
            {
                HttpListenerContext context = await listener.GetContextAsync().WaitAsync(timeout.Token);
                string path = context.Request.Url!.AbsolutePath;
                if (path.EndsWith("/invocation/next", StringComparison.Ordinal))
                {
                    context.Response.Headers["Lambda-Runtime-Aws-Request-Id"] = "req-arm64";
                    context.Response.Headers["Lambda-Runtime-Deadline-Ms"] = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
                    context.Response.Headers["Lambda-Runtime-Invoked-Function-Arn"] = "arn:aws:lambda:us-east-1:123456789012:function:bgpipe";
                    await context.Response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(sqsEvent));
                    context.Response.Close();
                    continue;
                }

                using var reader = new StreamReader(context.Request.InputStream);
                string answer = await reader.ReadToEndAsync();
                context.Response.StatusCode = 202;
                context.Response.Close();
                Assert.True(path == "/2018-06-01/runtime/invocation/req-arm64/response", $"the arm64 bootstrap answered {path}: {answer}\n{output}");
                Assert.Contains($"\"itemIdentifier\":\"{messageId}\"", answer, StringComparison.Ordinal);
                return;
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the arm64 bootstrap under qemu gave no response within 3 minutes:\n{output}");
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static int FreePort()
    {
        using var socket = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
