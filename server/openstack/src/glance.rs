//! Glance v2: images, with `next`-link paging, creation and JSON-patch updates.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::{Call, Client};
use crate::de::nullable;
use crate::error::{Error, Service};
use crate::ids::IdKind;
use crate::model::Image;
use crate::path::Path;

/// Upper bound on list pages followed, against an upstream whose `next` links loop.
const MAX_PAGES: usize = 1000;

/// What image record to create (the data is uploaded separately).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CreateImage {
    /// Display name.
    pub name: String,
    /// Disk format, e.g. `qcow2`, `raw`.
    pub disk_format: String,
    /// Container format, e.g. `bare`.
    pub container_format: String,
    /// `public`, `private`, `shared` or `community`; Glance's default (`shared`) when absent.
    pub visibility: Option<String>,
    /// Minimum root disk in GiB.
    pub min_disk_gb: Option<u32>,
    /// Minimum memory in MiB.
    pub min_ram_mb: Option<u32>,
    /// Tags.
    pub tags: Vec<String>,
}

/// Which image properties to change; absent ones are left alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct UpdateImage {
    /// New name.
    pub name: Option<String>,
    /// New visibility.
    pub visibility: Option<String>,
    /// New tags (replacing all).
    pub tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Images {
    images: Vec<RawImage>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct RawImage {
    id: String,
    #[serde(default)]
    name: Option<String>,
    status: String,
    #[serde(default, deserialize_with = "nullable")]
    visibility: String,
    #[serde(default)]
    disk_format: Option<String>,
    #[serde(default)]
    container_format: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    virtual_size: Option<u64>,
    #[serde(default, deserialize_with = "nullable")]
    min_disk: u32,
    #[serde(default, deserialize_with = "nullable")]
    min_ram: u32,
    #[serde(default, deserialize_with = "nullable")]
    protected: bool,
    #[serde(default, deserialize_with = "nullable")]
    os_hidden: bool,
    #[serde(default)]
    checksum: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    tags: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    created_at: String,
    #[serde(default)]
    updated_at: Option<String>,
}

impl From<RawImage> for Image {
    fn from(raw: RawImage) -> Self {
        Self {
            id: raw.id,
            name: raw.name,
            status: raw.status,
            visibility: raw.visibility,
            disk_format: raw.disk_format,
            container_format: raw.container_format,
            owner: raw.owner,
            size_bytes: raw.size,
            virtual_size_bytes: raw.virtual_size,
            min_disk_gb: raw.min_disk,
            min_ram_mb: raw.min_ram,
            protected: raw.protected,
            hidden: raw.os_hidden,
            checksum: raw.checksum,
            tags: raw.tags,
            created_at: raw.created_at,
            updated_at: raw.updated_at,
        }
    }
}

/// `v2/images/{image_id}`, once the id is known to be an image's.
fn image_path(image_id: &str) -> Result<[&str; 3], Error> {
    IdKind::Image.check(image_id)?;
    Ok(["v2", "images", image_id])
}

/// The `next` link as a path under the image endpoint (Glance sends `/v2/images?marker=..`).
fn next_path(next: &str, base: &str) -> String {
    match next.strip_prefix(base) {
        Some(rest) => rest.to_owned(),
        None if next.starts_with("http://") || next.starts_with("https://") => {
            let after_scheme = next.split_once("://").map_or(next, |(_, rest)| rest);
            after_scheme
                .find('/')
                .map_or_else(String::new, |i| after_scheme[i..].to_owned())
        }
        None => next.to_owned(),
    }
}

impl Client {
    /// Every image the home project may use, following Glance's `next` links: community
    /// images and hidden ones included. Glance's default listing leaves out community images
    /// (but the caller's own) and every image with `os_hidden`, whose listing is a filter of
    /// its own (`os_hidden=true` lists only them), so this is two listings of
    /// `visibility=all`, one of each `os_hidden`. For an administrator that is every image.
    pub async fn list_images(&self) -> Result<Vec<Image>, Error> {
        let mut images = self.list_images_where("false").await?;
        let hidden = self.list_images_where("true").await?;
        // An image hidden or shown between the two pages would be in both: keep one.
        let seen: std::collections::HashSet<String> = images.iter().map(|i| i.id.clone()).collect();
        images.extend(hidden.into_iter().filter(|i| !seen.contains(&i.id)));
        Ok(images)
    }

    /// Every image of `visibility=all` with this `os_hidden`, page after page.
    async fn list_images_where(&self, os_hidden: &str) -> Result<Vec<Image>, Error> {
        let base = self.endpoint(Service::Image).await?;
        let mut images = Vec::new();
        let mut path = Path::new(["v2", "images"]);
        path.query.push(("visibility".to_owned(), "all".to_owned()));
        path.query
            .push(("os_hidden".to_owned(), os_hidden.to_owned()));
        for _ in 0..MAX_PAGES {
            let page: Images = self
                .fetch(Call::to(Service::Image, Method::GET, path))
                .await?;
            images.extend(page.images.into_iter().map(Image::from));
            match page.next {
                Some(next) if !next.is_empty() => path = Path::parse(&next_path(&next, &base))?,
                _ => return Ok(images),
            }
        }
        Err(Error::Decode {
            service: Service::Image,
            detail: format!("image listing did not end after {MAX_PAGES} pages"),
        })
    }

    /// One image (`GET /v2/images/{id}`).
    pub async fn get_image(&self, image_id: &str) -> Result<Image, Error> {
        let raw: RawImage = self
            .fetch(Call::get(Service::Image, image_path(image_id)?))
            .await?;
        Ok(raw.into())
    }

    /// Creates an image record (`POST /v2/images`), owned by `project_id` when given (scoped
    /// token), else by the home project.
    pub async fn create_image(
        &self,
        project_id: Option<&str>,
        request: CreateImage,
    ) -> Result<Image, Error> {
        let mut body = json!({
            "name": request.name,
            "disk_format": request.disk_format,
            "container_format": request.container_format,
            "tags": request.tags,
        });
        if let Some(visibility) = request.visibility {
            body["visibility"] = json!(visibility);
        }
        if let Some(min_disk) = request.min_disk_gb {
            body["min_disk"] = json!(min_disk);
        }
        if let Some(min_ram) = request.min_ram_mb {
            body["min_ram"] = json!(min_ram);
        }
        let mut call = Call::new(Service::Image, Method::POST, ["v2", "images"]).json(body);
        if let Some(project_id) = project_id {
            call = call.in_project(project_id);
        }
        let raw: RawImage = self.fetch(call).await?;
        Ok(raw.into())
    }

    /// Changes image properties (`PATCH /v2/images/{id}` with a JSON-patch body).
    pub async fn update_image(&self, image_id: &str, update: UpdateImage) -> Result<Image, Error> {
        let mut ops = Vec::new();
        if let Some(name) = update.name {
            ops.push(json!({ "op": "replace", "path": "/name", "value": name }));
        }
        if let Some(visibility) = update.visibility {
            ops.push(json!({ "op": "replace", "path": "/visibility", "value": visibility }));
        }
        if let Some(tags) = update.tags {
            ops.push(json!({ "op": "replace", "path": "/tags", "value": tags }));
        }
        let call = Call::new(Service::Image, Method::PATCH, image_path(image_id)?)
            .json(serde_json::Value::Array(ops))
            .content_type("application/openstack-images-v2.1-json-patch");
        let raw: RawImage = self.fetch(call).await?;
        Ok(raw.into())
    }

    /// Deletes an image (`DELETE /v2/images/{id}`).
    pub async fn delete_image(&self, image_id: &str) -> Result<(), Error> {
        let path = image_path(image_id)?;
        self.send(Call::new(Service::Image, Method::DELETE, path))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::next_path;

    #[test]
    fn next_links_become_paths_under_the_endpoint() {
        let base = "http://h/image";
        assert_eq!(
            next_path("/v2/images?marker=a", base),
            "/v2/images?marker=a"
        );
        assert_eq!(
            next_path("http://h/image/v2/images?marker=a", base),
            "/v2/images?marker=a"
        );
        assert_eq!(
            next_path("http://other:9292/v2/images?marker=a", base),
            "/v2/images?marker=a"
        );
    }
}
