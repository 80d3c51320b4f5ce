using System.Text;
using System.Text.Json;
using Pipeline.Cli.Tests.Emulators;
using Pipeline.Core.Records;
using Pipeline.Testing;
using Pipeline.Testing.Emulators;

namespace Pipeline.Cli.Tests.Tools;

/// <summary>
/// moto_server (S3, SQS, DynamoDB) and kinesalite (the stream) of their own for the tester-tool tests: the files in
/// events/ name the fixed buckets bgpipe-input and bgpipe-output, which no other test may share.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ToolsCollection : ICollectionFixture<MotoFixture>, ICollectionFixture<KinesaliteFixture>
{
    public const string Name = "moto_server + kinesalite (tools)";
}

/// <summary>The events/ files, their sources in s3://bgpipe-input/, and pictures to put there.</summary>
internal static class ToolsKit
{
    public const string InBucket = "bgpipe-input";

    public const string OutBucket = "bgpipe-output";

    public static string[] EventFiles() => [.. Directory.GetFiles(RepositoryRoot.Combine("events"), "*.json").Order(StringComparer.Ordinal)];

    public static bool IsKinesis(string file) => Path.GetFileName(file).StartsWith("kinesis-", StringComparison.Ordinal);

    /// <summary>Every decodable job of every event file.</summary>
    public static List<Job> Jobs()
    {
        var jobs = new List<Job>();
        foreach (string file in EventFiles())
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(file));
            foreach (JsonElement record in doc.RootElement.GetProperty("Records").EnumerateArray())
            {
                byte[] body = record.TryGetProperty("body", out JsonElement b)
                    ? Encoding.UTF8.GetBytes(b.GetString()!)
                    : Convert.FromBase64String(record.GetProperty("kinesis").GetProperty("data").GetString()!);
                if (AutoJobDecoder.Instance.TryDecode(body, out Job? job, out _))
                {
                    jobs.Add(job!);
                }
            }
        }

        return jobs;
    }

    /// <summary>
    /// A real photo for <paramref name="key"/>: the same name from the workspace's shared/data/photos where it exists,
    /// another of them otherwise, and a drawn picture where that folder is absent.
    /// </summary>
    public static byte[] Photo(string key, int index)
    {
        string folder = Path.Combine(RepositoryRoot.Path, "..", "shared", "data", "photos");
        if (Directory.Exists(folder))
        {
            string same = Path.Combine(folder, Path.GetFileName(key));
            if (File.Exists(same))
            {
                return File.ReadAllBytes(same);
            }

            string[] all = [.. Directory.GetFiles(folder).Order(StringComparer.Ordinal)];
            if (all.Length > 0)
            {
                return File.ReadAllBytes(all[index % all.Length]);
            }
        }

        return Images.ShapeOnTexture(seed: index + 1).Jpeg;
    }

    /// <summary>Removes every output (other tests of this collection write to the same fixed bucket).</summary>
    public static async Task EmptyOutputsAsync(RemoteKit kit)
    {
        foreach (Amazon.S3.Model.S3Object o in await kit.ListAsync(OutBucket, string.Empty))
        {
            await kit.S3.DeleteObjectAsync(OutBucket, o.Key);
        }
    }

    /// <summary>Puts the sources events/README.md describes: photos, corrupt.jpg as bytes that are no image, no missing.jpg.</summary>
    public static async Task<List<string>> UploadSourcesAsync(RemoteKit kit)
    {
        var keys = Jobs().Select(j => j.Source).Where(s => s.StartsWith($"s3://{InBucket}/", StringComparison.Ordinal))
            .Select(s => s[$"s3://{InBucket}/".Length..]).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        int i = 0;
        foreach (string key in keys)
        {
            if (key.EndsWith("missing.jpg", StringComparison.Ordinal))
            {
                // An earlier test of this collection may have "fixed" it; the events want it absent.
                await kit.S3.DeleteObjectAsync(InBucket, key);
                continue;
            }

            byte[] content = key.EndsWith("corrupt.jpg", StringComparison.Ordinal) ? "these bytes are no image"u8.ToArray() : Photo(key, i++);
            await kit.PutAsync(InBucket, key, content);
        }

        return keys;
    }
}
