using System.Net.Http;
using System.Net.Sockets;
using Xunit;

namespace Pipeline.Testing.Emulators;

/// <summary>
/// A fact for the Testcontainers.LocalStack variant. It runs only where a Docker engine answers and can provide the
/// LocalStack image; otherwise it skips and says why (never a faked pass). On the CI machines here there is a Docker
/// client but no engine, and no registry for images, so these tests skip.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class LocalStackFactAttribute : FactAttribute
{
    /// <summary>The LocalStack image the variant runs (the last line without an auth token).</summary>
    public const string Image = "localstack/localstack:3.8";

    public LocalStackFactAttribute()
    {
        Skip = WhyUnavailable.Value;
    }

    private static readonly Lazy<string?> WhyUnavailable = new(Probe);

    private static string? Probe()
    {
        var dockerHost = Environment.GetEnvironmentVariable("DOCKER_HOST");
        const string socketPath = "/var/run/docker.sock";
        if (!string.IsNullOrEmpty(dockerHost) && !dockerHost.StartsWith("unix://", StringComparison.Ordinal))
        {
            // A remote engine: let Testcontainers try (it fails loudly if the image cannot be pulled).
            return null;
        }

        var path = string.IsNullOrEmpty(dockerHost) ? socketPath : dockerHost["unix://".Length..];
        if (!File.Exists(path))
        {
            return $"no Docker engine here ({path} is absent and DOCKER_HOST is unset), so Testcontainers cannot start {Image}; the same suite runs on moto_server and fauxqs instead";
        }

        try
        {
            using var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                },
            };
            using var http = new HttpClient(handler) { BaseAddress = new Uri("http://docker"), Timeout = TimeSpan.FromSeconds(3) };
            using var ping = http.GetAsync("/_ping").GetAwaiter().GetResult();
            if (!ping.IsSuccessStatusCode)
            {
                return $"the Docker engine at {path} does not answer /_ping ({(int)ping.StatusCode}), so {Image} cannot start";
            }

            using var image = http.GetAsync($"/images/{Image}/json").GetAwaiter().GetResult();
            if (!image.IsSuccessStatusCode && Environment.GetEnvironmentVariable("BGPIPE_LOCALSTACK_PULL") != "1")
            {
                return $"the Docker engine has no {Image} image and pulling is off here (no registry access); set BGPIPE_LOCALSTACK_PULL=1 where the engine can pull it";
            }

            return null;
        }
        catch (Exception ex) when (ex is HttpRequestException or SocketException or TaskCanceledException or IOException)
        {
            return $"the Docker engine at {path} cannot be reached ({ex.Message}), so {Image} cannot start";
        }
    }
}
