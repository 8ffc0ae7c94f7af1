package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// InstallCRDs applies every CustomResourceDefinition in the YAML files
// (other documents are skipped) with server-side apply as field manager
// "berth", and waits until each is established or ctx ends. Installing the
// same CRDs again is a no-op. It returns the CRDs' names.
func InstallCRDs(ctx context.Context, cfg *rest.Config, files ...string) ([]string, error) {
	return InstallEditedCRDs(ctx, cfg, nil, files...)
}

// InstallEditedCRDs is InstallCRDs with edit, when not nil, applied to each
// CRD before it is installed (the local cluster's Tekton keeps only the
// storage version of each); an edit's error stops the installation.
func InstallEditedCRDs(ctx context.Context, cfg *rest.Config, edit func(*unstructured.Unstructured) error, files ...string) ([]string, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range files {
		crds, err := readCRDs(f)
		if err != nil {
			return nil, fmt.Errorf("read CRDs: %w", err)
		}
		for _, crd := range crds {
			if edit != nil {
				if err := edit(crd); err != nil {
					return nil, fmt.Errorf("%s: CRD %s: %w", f, crd.GetName(), err)
				}
			}
			_, err := dyn.Resource(crdResource).Apply(ctx, crd.GetName(), crd, metav1.ApplyOptions{FieldManager: ManagedBy, Force: true})
			if err != nil {
				return nil, fmt.Errorf("install CRD %s from %s: %w", crd.GetName(), f, err)
			}
			names = append(names, crd.GetName())
		}
	}
	for _, name := range names {
		if err := waitEstablished(ctx, dyn, name); err != nil {
			return nil, fmt.Errorf("CRD %s not established: %w", name, err)
		}
	}
	return names, nil
}

func readCRDs(path string) ([]*unstructured.Unstructured, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		u := &unstructured.Unstructured{Object: m}
		if m != nil && u.GetKind() == "CustomResourceDefinition" {
			out = append(out, u)
		}
	}
}

func waitEstablished(ctx context.Context, dyn dynamic.Interface, name string) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		crd, err := dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
}

// ApplyCRDs applies a chart's CustomResourceDefinitions (JSON objects)
// with server-side apply as field manager "berth", labelled as Berth's,
// and waits until each is established.
func (a *Applier) ApplyCRDs(ctx context.Context, crds []json.RawMessage) error {
	objs, err := decodeCRDs(crds)
	if err != nil {
		return err
	}
	for _, o := range objs {
		o.SetLabels(merged(o.GetLabels(), map[string]string{LabelManagedBy: ManagedBy}))
		if err := a.applyOne(ctx, o); err != nil {
			return err
		}
	}
	for _, o := range objs {
		if err := waitEstablished(ctx, a.dyn, o.GetName()); err != nil {
			return fmt.Errorf("CRD %s not established: %w", o.GetName(), err)
		}
	}
	a.mapper.Reset() // the kinds they define are served now
	return nil
}

// DeleteCRDs deletes a chart's CustomResourceDefinitions, and so every
// object of their kinds; CRDs already gone are fine.
func (a *Applier) DeleteCRDs(ctx context.Context, crds []json.RawMessage) error {
	objs, err := decodeCRDs(crds)
	if err != nil {
		return err
	}
	inv := make(Inventory, 0, len(objs))
	for _, o := range objs {
		inv = append(inv, RefOf(o))
	}
	return a.Delete(ctx, inv)
}

func decodeCRDs(crds []json.RawMessage) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, 0, len(crds))
	for _, raw := range crds {
		o := &unstructured.Unstructured{}
		if err := o.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("chart CRD: %w", err)
		}
		if o.GroupVersionKind().GroupKind() != crdKind {
			return nil, fmt.Errorf("chart CRD %s is a %s", o.GetName(), o.GetKind())
		}
		out = append(out, o)
	}
	return out, nil
}
