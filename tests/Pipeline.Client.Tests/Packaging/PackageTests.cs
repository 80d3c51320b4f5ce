using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;
using Pipeline.Testing;

namespace Pipeline.Client.Tests.Packaging;

/// <summary>
/// Packs Bgpipe.Client as a release would (<c>dotnet pack src/Pipeline.Client -o DIR</c>, here without rebuilding the
/// Debug build the tests already made) and reads the nuspecs: what a consumer restores must all be there.
/// </summary>
public sealed class PackageTests : IDisposable
{
    private readonly string _output = Directory.CreateTempSubdirectory("bgpipe-pack-").FullName;

    public void Dispose() => Directory.Delete(_output, recursive: true);

    [Fact]
    public async Task Given_the_client_project_When_packed_Then_its_readme_is_inside_and_every_dependency_is_a_package_of_the_same_pack_or_a_pinned_registry_package()
    {
        await PackAsync();

        var packages = Directory.GetFiles(_output, "*.nupkg").Select(Read).ToDictionary(p => p.Id, StringComparer.OrdinalIgnoreCase);
        Assert.True(packages.ContainsKey("Bgpipe.Client"), $"packed: {string.Join(", ", packages.Keys)}");
        var client = packages["Bgpipe.Client"];
        Assert.Equal("README.md", client.Readme);
        Assert.Contains("README.md", client.Files);
        Assert.Contains("lib/net10.0/Pipeline.Client.dll", client.Files);
        Dictionary<string, string> pins = Pins();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var todo = new Queue<Package>([client]);
        while (todo.TryDequeue(out Package? package))
        {
            if (!seen.Add(package.Id))
            {
                continue;
            }

            foreach ((string id, string version) in package.Dependencies)
            {
                if (id.StartsWith("Bgpipe.", StringComparison.OrdinalIgnoreCase))
                {
                    Assert.True(packages.TryGetValue(id, out Package? produced), $"{package.Id} depends on {id}, which the pack did not produce");
                    Assert.Equal(client.Version, produced!.Version);
                    Assert.Equal(client.Version, version.Trim('[', ']'));
                    todo.Enqueue(produced);
                }
                else
                {
                    Assert.True(pins.TryGetValue(id, out string? pinned), $"{package.Id} depends on {id}, which Directory.Packages.props does not pin");
                    Assert.Equal(pinned, version);
                    Assert.Matches(@"^\[[^,\]]+\]$", version);
                }
            }
        }

        Assert.Superset(new HashSet<string>(["Bgpipe.Client", "Bgpipe.Aws", "Bgpipe.Core"], StringComparer.OrdinalIgnoreCase), seen);
        Assert.Contains("lib/net10.0/Pipeline.Aws.dll", packages["Bgpipe.Aws"].Files);
        Assert.Contains("lib/net10.0/Pipeline.Core.dll", packages["Bgpipe.Core"].Files);
    }

    // The configuration these tests were built in, so the pack reuses that build of the three projects.
    private static string Configuration =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    [Fact]
    public async Task Given_the_packed_packages_When_a_new_app_restores_from_the_pack_folder_alone_Then_it_builds_and_runs_a_job_through_them()
    {
        await PackAsync();
        string app = Directory.CreateDirectory(Path.Combine(_output, "app")).FullName;
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } set
            ? set
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        await File.WriteAllTextAsync(Path.Combine(app, "app.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Bgpipe.Client" Version="0.1.0" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), """
            using Pipeline.Client.Jobs;
            Console.WriteLine(new JobRequest { Source = "s3://in/a.jpg" }.ToBody("from-package"));
            """);
        // Only the pack folder as a source; the registry packages come from the machine's package cache as a fallback
        // folder (offline), and what is restored goes to a private folder, so the shared cache never holds Bgpipe.*.
        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources><clear /><add key="pack" value="{_output}" /></packageSources>
              <fallbackPackageFolders><add key="cache" value="{cache}" /></fallbackPackageFolders>
            </configuration>
            """);

        string output = await DotnetAsync(app, new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(_output, "restored") }, "run", "--nologo");

        Assert.Contains("""{"jobId":"from-package","source":"s3://in/a.jpg"}""", output, StringComparison.Ordinal);
        Assert.True(Directory.Exists(Path.Combine(_output, "restored", "bgpipe.client", "0.1.0")), "Bgpipe.Client was not restored from the pack folder");
    }

    private Task PackAsync() => DotnetAsync(
        RepositoryRoot.Path,
        null,
        "pack", RepositoryRoot.Combine("src", "Pipeline.Client", "Pipeline.Client.csproj"), "-c", Configuration, "--no-build", "--nologo", "-o", _output);

    private static async Task<string> DotnetAsync(string directory, Dictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach ((string name, string value) in environment ?? [])
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', args)} failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
        return await stdout;
    }

    private sealed record Package(string Id, string Version, string? Readme, IReadOnlyList<(string Id, string Version)> Dependencies, IReadOnlyList<string> Files);

    private static Package Read(string path)
    {
        using ZipArchive zip = ZipFile.OpenRead(path);
        ZipArchiveEntry nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/', StringComparison.Ordinal));
        XDocument xml;
        using (Stream stream = nuspec.Open())
        {
            xml = XDocument.Load(stream);
        }

        XNamespace ns = xml.Root!.Name.Namespace;
        XElement metadata = xml.Root.Element(ns + "metadata")!;
        var dependencies = metadata.Descendants(ns + "dependency")
            .Select(d => ((string)d.Attribute("id")!, (string)d.Attribute("version")!))
            .ToList();
        return new Package(
            (string)metadata.Element(ns + "id")!,
            (string)metadata.Element(ns + "version")!,
            (string?)metadata.Element(ns + "readme"),
            dependencies,
            [.. zip.Entries.Select(e => e.FullName)]);
    }

    /// <summary>Directory.Packages.props: package id → its pinned version, e.g. "[10.0.0]".</summary>
    private static Dictionary<string, string> Pins() =>
        XDocument.Load(RepositoryRoot.Combine("Directory.Packages.props"))
            .Descendants("PackageVersion")
            .ToDictionary(e => (string)e.Attribute("Include")!, e => (string)e.Attribute("Version")!, StringComparer.OrdinalIgnoreCase);
}
