#pragma once
// The project's reference tables (data/*.csv, see data/SOURCES.md), compiled into the binary.

#include <string_view>

namespace joulecast::core::data {

extern const std::string_view cpu_tdp;        ///< name,tdp_w
extern const std::string_view cpu_tdp_cores;  ///< Name,Cores,TDP
extern const std::string_view gpu_specs;      ///< name,tdp_w,fp32_tflops,fp16_tensor_dense_tflops,memory_gb
extern const std::string_view carbon_intensity_by_country;  ///< iso3,country,gco2e_per_kwh,year
extern const std::string_view cloud_region_intensity;       ///< provider,region,iso3,gco2e_per_kwh

}  // namespace joulecast::core::data
